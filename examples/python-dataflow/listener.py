"""Prints what the processor found."""

from dora import Node


def main():
    node = Node()
    count = 0
    for event in node:
        if event["type"] == "INPUT":
            x, y, brightness = event["value"].to_pylist()
            frame = event["metadata"]["frame"]
            print(f"frame {frame}: square at x={x} y={y}, mean brightness {brightness}")
            count += 1
    print(f"listener got {count} results")


if __name__ == "__main__":
    main()
