import os
import shutil
from pathlib import Path

import pytest
import yaml

from web.client import running_server
from tests.chat import helpers
from tests.conftest import REPO, copy_repo, run_in
from tests.speech import models as speech_models


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--window-size=1100,900"]


def start_chromium(profile: Path, *extra_flags: str):
    """Debian's headless Chromium through Selenium; its console messages (driver.get_log("browser")) and
    network events (driver.get_log("performance")) are kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), "install Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", *extra_flags]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture()
def browser(tmp_path):
    driver = start_chromium(tmp_path / "profile")
    yield driver
    driver.quit()


@pytest.fixture()
def screenshots(tmp_path) -> Path:
    """Where the browser tests save a screenshot of each section: $DLLAB_SCREENSHOTS (`make screenshots`
    sets reports/web), else the test's temporary folder."""
    folder = Path(os.environ.get("DLLAB_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """pytest's base temporary folder, where the test model and index are made once."""
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def readme_repo(tmp_path_factory):
    """A copy of the repository as the README leaves it before `python web/serve.py`: after
    `dvc repro llm_download rag_index kokoro_download whisper_download` (the repository's own model, index
    and speech files are copied in when the pipeline has made them; otherwise they are made for the copy)."""
    repo = copy_repo(tmp_path_factory.mktemp("readme-repo"))
    model, index = REPO / "models/llm/model.gguf", REPO / "models/chromadb"
    if model.is_file() and (index / "chroma.sqlite3").is_file():
        (repo / "models/llm").mkdir(parents=True)
        shutil.copy2(model, repo / "models/llm/model.gguf")
        shutil.copytree(index, repo / "models/chromadb")
    else:
        run_in(repo, "dvc", "repro", "llm_download", "rag_index", timeout=600)
    # The voices and the speech recognizer (`make repro` makes them): the pipeline's, else fetched once.
    base = tmp_path_factory.getbasetemp()
    for name, folder in (("kokoro", speech_models.kokoro_dir(base)), ("whisper", speech_models.whisper_dir(base))):
        shutil.copytree(folder, repo / "models" / name)
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


@pytest.fixture(scope="session")
def lab_files(base, mnist_raw):
    from tests.web.lab import lab_files

    return lab_files(base, mnist_raw)


@pytest.fixture(scope="session")
def lab_app(chat_service, lab_files):
    """The app with every section: the test chat service, its index for the search, the lab's files."""
    from dllab.lab import Lab
    from web.app import create_app

    return create_app(chat_service, lab=Lab(lab_files, retriever=chat_service.retriever))


@pytest.fixture()
def lab_client(lab_app):
    return lab_app.test_client()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, lab_files):
    """The real `python web/serve.py` with the test chat model, index and params and the lab's files."""
    base = tmp_path_factory.getbasetemp()
    params = base / "lab-server-params.yaml"
    params.write_text(yaml.safe_dump(helpers.server_params(), allow_unicode=True), encoding="utf-8")
    with running_server("--params", str(params), "--model", str(helpers.model_file(base)),
                        "--index", str(helpers.index_dir(base)), "--audio-cache", str(base / "lab-server-audio"),
                        "--mnist-model", str(lab_files.mnist_model), "--lstm", str(lab_files.lstm),
                        "--transformer", str(lab_files.transformer), "--tokenizer", str(lab_files.tokenizer),
                        "--report", str(lab_files.report)) as (url, _):
        yield url


