"""`dvc exp run` experiments read from the DVC cache at their revision: listed with their changed params and
metrics, their model the one their dvc.lock names, served by the app with ?experiment=<rev>, and the workspace
left as it was. A real `dvc repro` and `dvc exp run --temp` of the MNIST stages in a copy with tiny params."""
import hashlib
import json

import pytest
import yaml

from tests.conftest import run_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(experiment_repo):
    return experiment_repo


def by_name(listed: list[dict]) -> dict[str, dict]:
    return {experiment["name"]: experiment for experiment in listed}


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_an_experiment_is_listed_with_its_changed_params_metrics_and_models(repo):
    from dllab.experiments import Experiments

    listed = by_name(Experiments(repo).list())
    assert sorted(listed) == ["lstm-wide", "wide"]
    wide, lstm = listed["wide"], listed["lstm-wide"]
    assert wide["changed"] == {"mnist.hidden": [48]} and wide["available"] == ["mnist_model"]
    assert 0 < wide["metrics"]["mnist"]["test_accuracy"] <= 1 and wide["metrics"]["lm"] is None
    assert wide["run"] == "dvc exp run -S 'mnist.hidden=[48]'"
    # The LSTM experiment trained the language models; its MLP is the baseline's, still in the cache.
    assert lstm["changed"] == {"lstm.hidden": 24} and lstm["available"] == ["mnist_model", "lstm", "transformer"]
    assert wide["own"] == ["mnist_model"] and lstm["own"] == ["lstm", "transformer"]
    assert 0 < lstm["metrics"]["lm"]["lstm"]["test_bpc"] < 20


def test_the_experiments_model_is_the_one_its_dvc_lock_names_and_the_workspace_is_untouched(repo):
    import torch

    from dllab.experiments import Experiments

    workspace_model = (repo / "models/mnist/model.pt").read_bytes()
    experiments = Experiments(repo)
    rev = by_name(experiments.list())["wide"]["rev"]
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
    wide = by_name(listed)["wide"]
    rev = wide["rev"]
    label, image = mnist_test_digits(mnist_raw)[0]
    pixels = {"pixels": image.reshape(-1).tolist()}
    read = client.post(f"/mnist/inspect?experiment={rev}", json=pixels).get_json()
    assert read["test_accuracy"] == wide["metrics"]["mnist"]["test_accuracy"]
    base = client.post("/mnist/inspect", json=pixels).get_json()
    assert base["probabilities"] != read["probabilities"]  # two different networks
    assert client.post(f"/mnist/predict?experiment={rev}", json=pixels).get_json()["probabilities"] == \
        read["probabilities"]
    unknown = client.post("/mnist/predict?experiment=0123abc", json=pixels)
    assert unknown.status_code == 400 and "GET /experiments lists them" in unknown.get_json()["error"]
    # Its language models were never trained: 503 naming the experiment's run.
    missing = client.post(f"/lm/inspect?experiment={rev}", json={"prompt": "ROMEO:"})
    assert missing.status_code == 503 and missing.get_json()["build"].startswith("dvc exp run -S 'mnist.hidden=[48]'")


def test_an_lstm_experiment_is_inspected_and_generates_with_its_own_models(repo):
    import torch

    from dllab.experiments import Experiments
    from dllab.lab import Lab, LabFiles
    from dllab.lazy import Unavailable
    from dllab.sse import events
    from web.app import create_app

    experiments = Experiments(repo)
    rev = by_name(experiments.list())["lstm-wide"]["rev"]
    lock = yaml.safe_load(run_in(repo, "git", "show", f"{rev}:dvc.lock").stdout)
    named = next(out["md5"] for out in lock["stages"]["lstm_train"]["outs"] if out["path"] == "models/lstm/model.pt")
    assert md5(experiments.lab(rev).files.lstm) == named
    assert torch.load(experiments.lab(rev).files.lstm, weights_only=False)["config"]["hidden"] == 24
    lab = Lab(LabFiles.under(repo), experiments=experiments)
    client = create_app(None, lab=lab, chat_down=Unavailable("no chat here", "dvc repro llm_download")).test_client()
    # The workspace never trained its language models: 503 naming the stage; the experiment's answer.
    assert client.post("/lm/inspect", json={"prompt": "ROMEO:"}).status_code == 503
    inspected = client.post(f"/lm/inspect?experiment={rev}", json={"prompt": "ROMEO:"}).get_json()
    assert set(inspected["models"]) == {"lstm", "transformer"}
    generated = client.post(f"/lm/generate?experiment={rev}", json={"prompt": "ROMEO:", "max_new_tokens": 4,
                                                                     "seed": 0})
    assert generated.status_code == 200
    pieces = [json.loads(data) for name, data in events(generated.get_data(as_text=True).splitlines()) if name == "piece"]
    assert {piece["model"] for piece in pieces} == {"lstm", "transformer"}
