import torch

from dllab.mnist.model import MLP, load_checkpoint, parameter_count, save_checkpoint


def test_shapes_and_parameter_count():
    model = MLP([512, 512], "relu", 0.2)
    assert model(torch.zeros(7, 784)).shape == (7, 10)
    assert model(torch.zeros(3, 28, 28)).shape == (3, 10)
    # Keras' reference MLP: 784*512+512 + 512*512+512 + 512*10+10
    assert parameter_count(model) == 669_706


def test_checkpoint_rebuilds_the_same_model(tmp_path):
    model = MLP([16, 8], "gelu", 0.0).eval()
    save_checkpoint(model, tmp_path / "m.pt", extra={"summary": {"x": 1}})
    loaded, checkpoint = load_checkpoint(tmp_path / "m.pt")
    x = torch.randn(4, 784)
    assert torch.equal(model(x), loaded(x))
    assert checkpoint["config"] == {"hidden": [16, 8], "activation": "gelu", "dropout": 0.0}
