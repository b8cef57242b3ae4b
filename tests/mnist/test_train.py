import torch

from dllab.mnist.data import make_loader, normalise, split_validation
from dllab.mnist.config import MnistParams
from dllab.mnist.model import MLP
from dllab.distributed import SINGLE
from dllab.mnist.train import batch_loss, fit, random_shift

PARAMS = MnistParams(epochs=8, lr=3e-3, weight_decay=0.0, lr_schedule="none", augment_shift=0)


def synthetic_digits(n: int, generator: torch.Generator):
    """Ten fixed random 'digit' prototypes plus noise: learnable, and fast."""
    prototypes = torch.rand(10, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = prototypes[labels] + 0.3 * torch.randn(n, 28, 28, generator=generator)
    return images, labels


def test_loss_falls_on_a_tiny_synthetic_set():
    g = torch.Generator().manual_seed(0)
    images, labels = synthetic_digits(600, g)
    (tx, ty), (vx, vy) = split_validation(images, labels, 100, g)
    model = MLP([32], "relu", 0.0)
    history, best, epoch_seconds = fit(model, make_loader(tx, ty, 50, True, g), make_loader(vx, vy, 100, False),
                                       PARAMS, torch.device("cpu"), g)
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert best["val_accuracy"] > 0.9
    assert set(best["state_dict"]) == set(model.state_dict())
    assert len(epoch_seconds) == PARAMS.epochs and "seconds" not in history[0]  # times kept apart


def test_loader_yields_whole_batches_in_seeded_order():
    x, y = torch.arange(10).float()[:, None], torch.arange(10)
    first = [b[1].tolist() for b in make_loader(x, y, 4, True, torch.Generator().manual_seed(3))]
    again = [b[1].tolist() for b in make_loader(x, y, 4, True, torch.Generator().manual_seed(3))]
    assert first == again and [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10))


def test_random_shift_moves_pixels_and_keeps_shape():
    image = torch.zeros(1, 28, 28)
    image[0, 14, 14] = 1.0
    shifted = random_shift(image.repeat(64, 1, 1), 2, torch.Generator().manual_seed(0))
    assert shifted.shape == (64, 28, 28)
    positions = {tuple((s == 1).nonzero()[0].tolist()) for s in shifted}
    assert len(positions) > 5 and all(12 <= r <= 16 and 12 <= c <= 16 for r, c in positions)


def test_normalise_flattens_to_unit_scale():
    images = torch.full((2, 28, 28), 255, dtype=torch.uint8)
    assert normalise(images).shape == (2, 784)
    assert torch.allclose(normalise(images), torch.tensor((1 - 0.1307) / 0.3081))


def test_label_smoothing_penalises_a_confident_right_answer():
    logits = torch.tensor([[10.0] + [0.0] * 9])  # sure of a 0, and right
    targets = torch.tensor([0])
    plain, _ = batch_loss(logits, targets, 1, SINGLE)
    smoothed, summed = batch_loss(logits, targets, 1, SINGLE, label_smoothing=MnistParams(label_smoothing=0.1).label_smoothing)
    assert plain.item() < 0.001 < smoothed.item() and summed == smoothed.item()
