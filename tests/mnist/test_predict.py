"""Reading a drawing the way MNIST's digits were made: 20×20 box, centre of mass at (14, 14)."""
import io

import numpy as np
import pytest

from dllab.errors import UserError
from dllab.mnist.predict import DigitReader, pixels_from_png, to_mnist
from web.schemas import pixels_from_json


@pytest.fixture(scope="module")
def test_images(mnist_raw):
    from dllab.mnist.idx import read_idx

    return read_idx(mnist_raw / "t10k-images-idx3-ubyte")[:50] / 255.0


def centre_of_mass(image):
    ys, xs = np.mgrid[:image.shape[0], :image.shape[1]]
    return (ys * image).sum() / image.sum(), (xs * image).sum() / image.sum()


def test_mnist_test_images_come_back_almost_unchanged(test_images):
    # They were made this way, so preprocessing them again moves almost nothing.
    worst = max(np.abs(to_mnist(image) - image).max() for image in test_images)
    assert worst < 0.06


def test_a_large_off_centre_drawing_becomes_the_digit_it_was_drawn_from(test_images):
    image = test_images[0]
    paper = np.zeros((400, 300))
    paper[30:30 + 280, 10:10 + 280] = np.kron(image, np.ones((10, 10)))  # 10× larger, in a corner
    read = to_mnist(paper)
    assert np.abs(read - image).mean() < 0.02
    assert np.allclose(centre_of_mass(read), (14, 14), atol=0.5)


def test_the_longer_side_becomes_20_pixels_and_the_aspect_ratio_is_kept():
    bar = np.zeros((100, 100))
    bar[10:90, 45:55] = 1.0  # 80 tall, 10 wide
    read = to_mnist(bar)
    rows, cols = np.flatnonzero(read.max(1) > 0.05), np.flatnonzero(read.max(0) > 0.05)
    assert len(rows) == 20 and len(cols) in (2, 3, 4)
    assert np.allclose(centre_of_mass(read), (14, 14), atol=0.5)


def test_a_dot_and_a_corner_stroke_stay_inside_the_field():
    dot = np.zeros((9, 9))
    dot[0, 0] = 1.0
    assert to_mnist(dot).shape == (28, 28) and to_mnist(dot).max() > 0.5
    corner = np.zeros((50, 50))
    corner[0, :] = 1.0
    corner[:5, 0] = 1.0  # mass at the very top of a 2-row box: the shift keeps the whole box in the field
    read = to_mnist(corner)
    cols = np.flatnonzero(read.max(0) > 0.05)
    assert len(cols) == 20 and cols[-1] - cols[0] == 19  # all 20 columns of the box, none cut off


def test_no_ink_is_a_clear_error():
    with pytest.raises(UserError, match="no ink"):
        to_mnist(np.zeros((28, 28)))


@pytest.mark.parametrize("body, fragment", [
    ([0.0] * 784, "got list"), ({"pixels": [0.0] * 10}, "got 10"), ({"pixels": None}, "got NoneType"),
    ({"pixels": [0.0] * 783 + [1.5]}, "pixels[783] = '1.5'"), ({"pixels": [float("inf")] + [0.0] * 783}, "pixels[0]"),
    ({"pixels": [None] + [0.0] * 783}, "pixels[0] = 'None'"), ({"pixel": [0.0] * 784}, "got ['pixel']"),
])
def test_bad_pixels_name_the_field(body, fragment):
    with pytest.raises(UserError) as error:
        pixels_from_json(body)
    assert fragment in str(error.value)


def test_pixels_are_rows_of_28():
    pixels = [0.0] * 784
    pixels[28 * 3 + 5] = 1.0
    assert pixels_from_json({"pixels": pixels})[3, 5] == 1.0


def _png(array: np.ndarray, mode: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array, mode).save(out, "PNG")
    return out.getvalue()


def test_pngs_dark_on_light_light_on_dark_grey_rgb_or_transparent_give_the_same_ink(test_images):
    ink = test_images[1]
    grey = (255 * ink).astype(np.uint8)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = grey
    variants = [_png(255 - grey, "L"), _png(grey, "L"), _png(np.stack([255 - grey] * 3, -1), "RGB"), _png(rgba, "RGBA")]
    for data in variants:
        assert np.abs(pixels_from_png(data) - ink).max() < 0.01


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])  # nothing; a signature and zeros
def test_unreadable_pngs_are_refused(data):
    with pytest.raises(UserError, match="not a readable PNG"):
        pixels_from_png(data)


def test_the_reader_gives_ten_probabilities_and_the_input_it_saw(tmp_path, test_images):
    import torch

    from dllab.mnist.model import MLP, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(MLP([16]), tmp_path / "model.pt", extra={"summary": {}})
    result = DigitReader.load(tmp_path / "model.pt").read(test_images[2])
    assert result["prediction"] in range(10) and len(result["probabilities"]) == 10
    assert abs(sum(result["probabilities"]) - 1) < 1e-3
    assert np.allclose(np.reshape(result["input"], (28, 28)), to_mnist(test_images[2]), atol=1e-3)
    with pytest.raises(UserError, match="dvc repro mnist_train"):
        DigitReader.load(tmp_path / "none.pt")
