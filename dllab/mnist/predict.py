"""Reading one handwritten digit the way MNIST's digits were made, and classifying it.

MNIST's images were made by scaling each digit's bounding box into 20×20 pixels (aspect ratio kept,
anti-aliased), then translating it so that its centre of mass sits at the centre of a 28×28 field
(pixel (14, 14): the test images' mean centre of mass is (13.99, 14.00)). A drawing gets the same
treatment, so the network sees what it was trained on. Inputs: 784 values in 0..1, ink high, row by
row (the raw MNIST scale divided by 255), or a PNG of any size, dark ink on a light or transparent
background or light ink on a dark one (told apart by the border).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from dllab.errors import UserError

SIDE, BOX, CENTRE = 28, 20, 14.0
PIXELS = SIDE * SIDE
INK = 0.05  # pixels fainter than this are background when finding the bounding box
MAX_PNG_SIDE = 2048  # larger PNGs are refused before decoding (a drawing needs a few hundred pixels)


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """(H, W) ink in 0..1 → (28, 28): bounding box scaled into 20×20, centred by centre of mass."""
    from PIL import Image

    rows, cols = np.flatnonzero(ink.max(1) > INK), np.flatnonzero(ink.max(0) > INK)
    if not rows.size:
        raise UserError("the image has no ink: draw a digit (ink is high in `pixels`, dark on a light PNG)")
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)  # (h, w)
    scale = BOX / max(crop.shape)
    width, height = (max(1, round(n * scale)) for n in crop.shape[::-1])
    # Pillow's bilinear filter widens its support when shrinking, so it averages (anti-aliases) like MNIST's.
    box = np.asarray(Image.fromarray(crop, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    box = np.clip(box, 0.0, 1.0)  # (height, width), both <= 20
    ys, xs = np.mgrid[:height, :width]
    mass = box.sum()
    top, left = round(CENTRE - (ys * box).sum() / mass), round(CENTRE - (xs * box).sum() / mass)
    top, left = min(max(top, 0), SIDE - height), min(max(left, 0), SIDE - width)  # stay inside the field
    field = np.zeros((SIDE, SIDE), np.float32)
    field[top:top + height, left:left + width] = box
    return field


def pixels_from_png(data: bytes) -> np.ndarray:
    """A PNG → (H, W) ink in 0..1 (alpha composited on white; dark-on-light inverted to ink high)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if image.format != "PNG":
            raise UserError(f"the body is a {image.format} image; send a PNG")
        if max(image.size) > MAX_PNG_SIDE or min(image.size) < 1:
            raise UserError(f"the PNG is {image.size[0]}×{image.size[1]} pixels; the limit is "
                            f"{MAX_PNG_SIDE}×{MAX_PNG_SIDE}")
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UserError("the body is not a readable PNG image") from None
    paper = Image.new("RGBA", image.size, "white")
    grey = np.asarray(Image.alpha_composite(paper, image.convert("RGBA")).convert("L"), np.float32) / 255
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if border.mean() > 0.5 else grey


class DigitReader:
    """The trained MLP behind a function from a drawing to its ten probabilities."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def load(cls, path: str | Path) -> "DigitReader":
        import torch

        from dllab.mnist.model import load_checkpoint

        if not Path(path).is_file():
            raise UserError(f"{path}: no MNIST model there; train it with `dvc repro mnist_train`")
        return cls(load_checkpoint(path, torch.device("cpu"))[0])

    def read(self, ink: np.ndarray) -> dict:
        """{prediction, probabilities (10), input (784 values: the 28×28 the network saw, row by row)}."""
        import torch

        from dllab.mnist.data import normalise
        from dllab.mnist.evaluate import predict

        field = to_mnist(ink)  # (28, 28)
        inputs = normalise(torch.from_numpy(field * 255.0).unsqueeze(0))  # (1, 784), as in training
        probabilities = predict(self.model, inputs, torch.device("cpu"))[0][0]  # (10,)
        return {"prediction": int(probabilities.argmax()),
                "probabilities": [round(float(p), 5) for p in probabilities],
                "input": [round(float(v), 3) for v in field.reshape(-1)]}
