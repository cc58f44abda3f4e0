"""A camera stand-in: sends a synthetic 480x640 RGB image (a moving bright square) on every
tick, FRAMES times, then exits."""

import os

import numpy as np
import pyarrow as pa
from dora import Node

HEIGHT, WIDTH = 480, 640


def frame(index):
    image = np.full((HEIGHT, WIDTH, 3), 32, dtype=np.uint8)
    x = (index * 20) % (WIDTH - 64)
    image[200:264, x : x + 64] = 255
    return image


def main():
    frames = int(os.environ.get("FRAMES", "30"))
    node = Node()
    sent = 0
    for event in node:
        if event["type"] == "INPUT":
            image = frame(sent)
            node.send_output(
                "image",
                pa.array(image.ravel()),
                {"height": HEIGHT, "width": WIDTH, "encoding": "rgb8", "frame": sent},
            )
            sent += 1
            if sent == frames:
                break
    print(f"camera sent {sent} frames")


if __name__ == "__main__":
    main()
