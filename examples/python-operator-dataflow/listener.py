"""Prints the speed the tracker measured."""

from dora import Node

count = 0
for event in Node():
    if event["type"] == "INPUT":
        speed = event["value"][0].as_py()
        print(f"frame {event['metadata']['frame']}: moving {speed} px/frame")
        count += 1
print(f"listener got {count} speeds")
