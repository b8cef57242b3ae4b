"""`dvc exp run` experiments read from the DVC cache at their revision: listed with their changed params and
metrics, their model the one their dvc.lock names, served by the app with ?experiment=<rev>, and the workspace
left as it was. A real `dvc repro` and `dvc exp run --temp` of the MNIST stages in a copy with tiny params."""
import hashlib

import pytest
import yaml

from tests.conftest import copy_repo, run_in, set_params

pytestmark = pytest.mark.slow
TINY = {"hidden": [32], "epochs": 1, "train_limit": 2000, "val_size": 400, "batch_size": 100}


@pytest.fixture(scope="module")
def repo(tmp_path_factory, mnist_raw):
    return make_repo(tmp_path_factory, mnist_raw)


def make_repo(tmp_path_factory, mnist_raw):
    repo = copy_repo(tmp_path_factory.mktemp("exp-repo"))
    set_params(repo, "mnist", sources=[f"dir:{mnist_raw}", "pypi"], **TINY)
    run_in(repo, "dvc", "repro", "mnist_evaluate")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    run_in(repo, *git, "add", "-A")
    run_in(repo, *git, "commit", "-q", "-m", "baseline")
    run_in(repo, "dvc", "exp", "run", "--temp", "-n", "wide", "-S", "mnist.hidden=[48]", "mnist_evaluate")
    return repo


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_an_experiment_is_listed_with_its_changed_params_metrics_and_models(repo):
    from dllab.experiments import Experiments

    listed = Experiments(repo).list()
    assert [e["name"] for e in listed] == ["wide"]
    wide = listed[0]
    assert wide["changed"] == {"mnist.hidden": [48]} and wide["available"] == ["mnist_model"]
    assert 0 < wide["metrics"]["mnist"]["test_accuracy"] <= 1 and wide["metrics"]["lm"] is None
    assert wide["run"] == "dvc exp run -S 'mnist.hidden=[48]'"


def test_the_experiments_model_is_the_one_its_dvc_lock_names_and_the_workspace_is_untouched(repo):
    import torch

    from dllab.experiments import Experiments

    workspace_model = (repo / "models/mnist/model.pt").read_bytes()
    experiments = Experiments(repo)
    rev = experiments.list()[0]["rev"]
    lock = yaml.safe_load(run_in(repo, "git", "show", f"{rev}:dvc.lock").stdout)
    named = next(out["md5"] for out in lock["stages"]["mnist_train"]["outs"] if out["path"] == "models/mnist/model.pt")
    lab = experiments.lab(rev)
    assert md5(lab.files.mnist_model) == named != md5(repo / "models/mnist/model.pt")
    assert lab.digits.get().model.config["hidden"] == [48]
    assert torch.load(repo / "models/mnist/model.pt", weights_only=True)["config"]["hidden"] == [32]
    assert (repo / "models/mnist/model.pt").read_bytes() == workspace_model
    assert yaml.safe_load((repo / "params.yaml").read_text())["mnist"]["hidden"] == [32]


def test_the_app_serves_an_experiments_model_and_refuses_unknown_ones(repo, mnist_raw):
    from dllab.experiments import Experiments
    from dllab.lab import Lab, LabFiles
    from dllab.lazy import Unavailable
    from tests.web.lab import mnist_test_digits
    from web.app import create_app

    lab = Lab(LabFiles.under(repo), experiments=Experiments(repo))
    client = create_app(None, lab=lab, chat_down=Unavailable("no chat here", "dvc repro llm_download")).test_client()
    listed = client.get("/experiments").get_json()["experiments"]
    rev = listed[0]["rev"]
    label, image = mnist_test_digits(mnist_raw)[0]
    pixels = {"pixels": image.reshape(-1).tolist()}
    wide = client.post(f"/mnist/inspect?experiment={rev}", json=pixels).get_json()
    assert wide["test_accuracy"] == listed[0]["metrics"]["mnist"]["test_accuracy"]
    base = client.post("/mnist/inspect", json=pixels).get_json()
    assert base["probabilities"] != wide["probabilities"]  # two different networks
    assert client.post(f"/mnist/predict?experiment={rev}", json=pixels).get_json()["probabilities"] == \
        wide["probabilities"]
    unknown = client.post("/mnist/predict?experiment=0123abc", json=pixels)
    assert unknown.status_code == 400 and "GET /experiments lists them" in unknown.get_json()["error"]
    # Its language models were never trained: 503 naming the experiment's run.
    missing = client.post(f"/lm/inspect?experiment={rev}", json={"prompt": "ROMEO:"})
    assert missing.status_code == 503 and missing.get_json()["build"].startswith("dvc exp run -S 'mnist.hidden=[48]'")
