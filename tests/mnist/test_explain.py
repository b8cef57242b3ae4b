"""What drove the digit network's decision: integrated gradients, the first layer's most active units, the
entropy cue (a small random MLP here; the trained one through HTTP in tests/web/test_inspect_api.py)."""
import math

import numpy as np
import pytest
import torch

from dllab.mnist.explain import MAX_BITS, TOP_UNITS, entropy_bits, explain
from dllab.mnist.model import MLP


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MLP([32, 16]).eval()


@pytest.fixture(scope="module")
def drawing():
    field = np.zeros((28, 28), np.float32)
    field[6:22, 12:15] = 1.0  # a "1"
    field[6:8, 10:12] = 0.6
    return field


def test_saliency_has_the_inputs_shape_and_is_zero_on_the_background(model, drawing):
    answer = explain(model, drawing)
    saliency = np.asarray(answer["saliency"])
    assert saliency.shape == (784,) and np.abs(saliency).max() == 1
    assert np.all(saliency.reshape(28, 28)[drawing == 0] == 0)  # blank pixels changed nothing from the blank page


def test_the_attributions_add_up_to_the_logit_change_from_a_blank_page(model, drawing):
    from dllab.mnist.data import normalise

    answer = explain(model, drawing)
    with torch.no_grad():
        drawn = model(normalise(torch.from_numpy(drawing * 255.0)[None]))[0, answer["prediction"]]
        blank = model(normalise(torch.zeros(1, 28, 28)))[0, answer["prediction"]]
    assert math.isclose(answer["saliency_total"], float(drawn - blank), rel_tol=0.02, abs_tol=1e-3)


def test_the_top_units_are_the_most_active_with_their_weights_as_images(model, drawing):
    from dllab.mnist.data import normalise

    answer = explain(model, drawing)
    with torch.no_grad():
        hidden = torch.relu(model.net[0](normalise(torch.from_numpy(drawing * 255.0)[None])))[0]
    units = answer["units"]
    assert [u["unit"] for u in units] == torch.topk(hidden, TOP_UNITS).indices.tolist()
    assert all(a["activation"] >= b["activation"] for a, b in zip(units, units[1:]))
    for unit in units:
        weights = np.asarray(unit["weights"])
        assert weights.shape == (784,) and math.isclose(np.abs(weights).max(), 1)
        expected = model.net[0].weight[unit["unit"]].detach().numpy()
        assert np.allclose(weights, expected / np.abs(expected).max(), atol=1e-3)


def test_probabilities_and_entropy(model, drawing):
    answer = explain(model, drawing, {"test_accuracy": 0.98})
    p = np.asarray(answer["probabilities"])
    assert math.isclose(p.sum(), 1, abs_tol=1e-4) and answer["prediction"] == int(p.argmax())
    assert math.isclose(answer["entropy_bits"], entropy_bits(p), abs_tol=1e-2)
    assert answer["test_accuracy"] == 0.98 and explain(model, drawing)["test_accuracy"] is None


def test_entropy_goes_from_zero_when_sure_to_log2_10_when_lost():
    assert entropy_bits(np.eye(10)[3]) == 0
    assert math.isclose(entropy_bits(np.full(10, 0.1)), MAX_BITS)


def test_saliency_works_in_a_thread_left_without_autograd(model, drawing):
    with torch.no_grad():
        assert np.abs(explain(model, drawing)["saliency"]).max() == 1
