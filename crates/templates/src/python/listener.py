"""___name___: prints what the talkers say."""

from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            message = event["value"][0].as_py()
            print(f"___name___ heard on `{event['id']}`: {message}")
        elif event["type"] == "STOP":
            print("___name___ stopping")


if __name__ == "__main__":
    main()
