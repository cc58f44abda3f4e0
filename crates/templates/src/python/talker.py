"""___name___: says hello on every tick of its timer."""

import pyarrow as pa
from dora import Node


def main():
    node = Node()
    count = 0
    for event in node:
        if event["type"] == "INPUT":
            count += 1
            node.send_output("speech", pa.array([f"Hello World #{count} from ___name___"]))
        elif event["type"] == "STOP":
            print("___name___ stopping")


if __name__ == "__main__":
    main()
