"""Finds the bright square of each image and sends its bounding box [x, y, w, h]."""

import numpy as np
import pyarrow as pa
from dora import DoraStatus


class Operator:
    def on_event(self, dora_event, send_output) -> DoraStatus:
        if dora_event["type"] == "INPUT":
            metadata = dora_event["metadata"]
            image = (
                dora_event["value"]
                .to_numpy(zero_copy_only=True)
                .reshape(metadata["height"], metadata["width"], 3)
            )
            rows, cols = np.nonzero(image[:, :, 0] > 200)
            if len(cols):
                x, y = int(cols.min()), int(rows.min())
                w, h = int(cols.max()) - x + 1, int(rows.max()) - y + 1
                send_output("bbox", pa.array([x, y, w, h]), {"frame": metadata["frame"]})
        return DoraStatus.CONTINUE
