import shutil

import pytest
import yaml

from dllab.chat.client import running_server
from tests.chat import helpers
from tests.conftest import REPO, copy_repo, run_in


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """pytest's base temporary folder, where the test model and index are made once."""
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def readme_repo(tmp_path_factory):
    """A copy of the repository as the README leaves it before `python web/serve.py`: after
    `dvc repro llm_download rag_index` (the repository's own model and index are copied in when the
    pipeline has made them; otherwise that command is run in the copy)."""
    repo = copy_repo(tmp_path_factory.mktemp("readme-repo"))
    model, index = REPO / "models/llm/model.gguf", REPO / "models/chromadb"
    if model.is_file() and (index / "chroma.sqlite3").is_file():
        (repo / "models/llm").mkdir(parents=True)
        shutil.copy2(model, repo / "models/llm/model.gguf")
        shutil.copytree(index, repo / "models/chromadb")
    else:
        run_in(repo, "dvc", "repro", "llm_download", "rag_index", timeout=600)
    return repo


@pytest.fixture(scope="session")
def chat_service(tmp_path_factory):
    return helpers.service(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def app(chat_service):
    from web.app import create_app

    return create_app(chat_service)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real `python web/serve.py` (waitress) on a free port, with the test model, index and params."""
    base = tmp_path_factory.getbasetemp()
    params = base / "server-params.yaml"
    params.write_text(yaml.safe_dump(helpers.server_params(), allow_unicode=True), encoding="utf-8")
    with running_server("--params", str(params), "--model", str(helpers.model_file(base)),
                        "--index", str(helpers.index_dir(base)), "--audio-cache", str(base / "server-audio")) as (url, _):
        yield url
