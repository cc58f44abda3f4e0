"""Finds the bright square in each image: reads the image in place (a numpy view of the
shared memory the camera wrote) and sends where the square is and the mean brightness."""

import numpy as np
import pyarrow as pa
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] != "INPUT":
            continue
        metadata = event["metadata"]
        image = (
            event["value"]
            .to_numpy(zero_copy_only=True)
            .reshape(metadata["height"], metadata["width"], 3)
        )
        gray = image.mean(axis=2)
        rows, cols = np.nonzero(gray > 200)
        found = [int(cols.min()), int(rows.min())] if len(cols) else [-1, -1]
        node.send_output(
            "stats",
            pa.array([found[0], found[1], int(gray.mean())], type=pa.int64()),
            {"frame": metadata["frame"]},
        )


if __name__ == "__main__":
    main()
