import pytest
import yaml

from dllab.chat.client import running_server
from tests.chat import helpers


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
