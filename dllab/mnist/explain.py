"""What drove the digit network's decision, for the lab's page: integrated-gradients saliency, the most active
first-layer units with their weights, and how unsure the ten probabilities are.

Saliency is integrated gradients (Sundararajan et al., 2017) of the chosen class's logit from a blank page
(every pixel background) to the drawing: ``(x − blank) · mean over the path of ∂logit/∂x``. Its values add
up to ``logit(drawing) − logit(blank)``, so each pixel gets its share of the decision; a background pixel
gets 0, whatever the gradient there. Positive: the pixel's ink pushed towards the class; negative: away.

The network always picks one of ten digits, even for a dot or a letter: the entropy of its distribution
(0 bits: sure; log2(10) ≈ 3.32 bits: no idea) is the cue shown. A low entropy does not prove it is a digit.
"""
from __future__ import annotations

import math

import numpy as np

IG_STEPS = 32        # points on the path; the sum is within ~1 % of the logit difference for this MLP
TOP_UNITS = 6        # first-layer units shown
UNSURE_BITS = 1.0    # above this the page says "this may not be a digit": at most ~half the mass on one class
MAX_BITS = math.log2(10)  # ten equally likely digits (the web app imports this module: no torch at import)


def entropy_bits(probabilities: np.ndarray) -> float:
    p = probabilities[probabilities > 0]
    return float(-(p * np.log2(p)).sum())


def integrated_gradients(model, inputs, baseline, target: int, steps: int = IG_STEPS):
    """Attributions (784,) of ``target``'s logit for ``inputs`` (784,) from ``baseline`` (784,), both in
    the network's (normalised) input space."""
    import torch

    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps  # midpoints of the path's segments
    with torch.enable_grad():  # whatever mode the calling thread was left in
        path = (baseline + alphas[:, None] * (inputs - baseline)).requires_grad_(True)  # (steps, 784)
        logits = model(path)[:, target]  # (steps,)
        (gradients,) = torch.autograd.grad(logits.sum(), path)  # (steps, 784)
    return (inputs - baseline) * gradients.mean(0)  # (784,)


def first_layer(model):
    """The first Linear layer and the activation after it."""
    return model.net[0], model.net[1]


def explain(model, field: np.ndarray, metrics: dict | None = None) -> dict:
    """``field``: the (28, 28) ink in 0..1 the network sees (``to_mnist``'s output). The answer of
    ``POST /mnist/predict``'s fields plus ``saliency`` (784, scaled so that the largest |value| is 1),
    ``saliency_total`` (the attributions' sum: logit(drawing) − logit(blank)), ``units`` (the TOP_UNITS
    most active first-layer units: index, activation, 784 weights scaled to −1..1), ``entropy_bits``,
    ``max_bits``, ``unsure`` and ``test_accuracy`` from ``metrics`` (None when not evaluated)."""
    import torch

    from dllab.mnist.data import normalise

    model.eval()
    inputs = normalise(torch.from_numpy(field * 255.0).unsqueeze(0))[0]  # (784,), as in training
    blank = normalise(torch.zeros(1, 28, 28))[0]  # (784,): every pixel background
    linear, activation = first_layer(model)
    with torch.no_grad():
        probabilities = torch.softmax(model(inputs[None]), 1)[0].numpy()  # (10,)
        hidden = activation(linear(inputs[None]))[0]  # (hidden[0],)
    prediction = int(probabilities.argmax())
    attributions = integrated_gradients(model, inputs, blank, prediction).detach().numpy()  # (784,)
    scale = float(np.abs(attributions).max()) or 1.0
    units = torch.topk(hidden, min(TOP_UNITS, len(hidden)))
    weights = linear.weight.detach()  # (hidden[0], 784)
    bits = entropy_bits(probabilities)
    return {
        "prediction": prediction,
        "probabilities": [round(float(p), 5) for p in probabilities],
        "input": [round(float(v), 3) for v in field.reshape(-1)],
        "saliency": [round(float(a) / scale, 3) for a in attributions],
        "saliency_total": round(float(attributions.sum()), 4),
        "units": [{"unit": int(unit), "activation": round(float(value), 4),
                   "weights": [round(float(w), 3) for w in weights[unit] / weights[unit].abs().max()]}
                  for value, unit in zip(units.values, units.indices)],
        "entropy_bits": round(bits, 3),
        "max_bits": round(MAX_BITS, 3),
        "unsure": bits > UNSURE_BITS,
        "test_accuracy": (metrics or {}).get("test_accuracy"),
    }
