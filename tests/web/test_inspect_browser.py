"""Inside the models in headless Chromium, on the real server (web/serve.py, without the chat): the attention
heatmap is drawn and changes with layer and head, the temperature slider reshapes the bars without a request,
"Morceau suivant" appends a piece after the prompt, the digit tab shows the saliency, the units, the entropy
cue and the test accuracy; phone width; no console errors. Screenshots go to $DLLAB_SCREENSHOTS as in
test_lab_browser.py."""
import json

import pytest
import yaml

from tests.web.lab import mnist_test_digits, strokes
from tests.web.test_lab_browser import assert_no_console_errors, draw, open_tab, wait

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inspect_server(tmp_path_factory, lab_files):
    from web.client import running_server
    from tests.chat import helpers

    folder = tmp_path_factory.mktemp("inspect-server")
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(helpers.server_params(), allow_unicode=True), encoding="utf-8")
    (folder / "mnist.json").write_text(json.dumps({"test_accuracy": 0.9895}))
    (folder / "lm.json").write_text(json.dumps({"lstm": {"test_bpc": 2.1}, "transformer": {"test_bpc": 1.9}}))
    with running_server("--params", str(params), "--model", str(folder / "none.gguf"),
                        "--index", str(folder / "no-index"), "--audio-cache", str(folder / "audio"),
                        "--mnist-model", str(lab_files.mnist_model), "--lstm", str(lab_files.lstm),
                        "--transformer", str(lab_files.transformer), "--tokenizer", str(lab_files.tokenizer),
                        "--report", str(lab_files.report), "--mnist-metrics", str(folder / "mnist.json"),
                        "--lm-metrics", str(folder / "lm.json")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def experiment_server(experiment_repo):
    """web/serve.py run in the experiments' repository (its `dvc exp run`s listed by GET /experiments)."""
    import os

    from web.client import running_server
    from tests.conftest import BIN

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(experiment_repo)}
    with running_server("--model", str(experiment_repo / "none.gguf"), "--index", str(experiment_repo / "no-index"),
                        cwd=experiment_repo, env=env, script="web/serve.py") as (url, _):
        yield url


def heatmap(browser) -> str:
    return browser.execute_script("return document.getElementById('lm-attention').toDataURL()")


def bars(browser, model) -> list[float]:
    return browser.execute_script(
        f"return [...document.querySelectorAll('[data-inspect=\"{model}\"] .candidates li')]"
        ".map(li => Number(li.dataset.p))")


def inspect_requests(browser) -> int:
    return browser.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/lm/inspect')).length")


def test_attention_and_next_piece_bars_live_in_the_page(browser, inspect_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    open_tab(browser, inspect_server, "lm")
    canvas = browser.find_element(By.ID, "lm-attention")
    wait(browser).until(lambda d: canvas.get_attribute("data-tokens"))  # inspected when the tab opened
    assert int(canvas.get_attribute("data-tokens")) >= 2
    first = heatmap(browser)
    # Something is drawn: the first row's only cell (the first piece looks at itself, weight 1) is dark.
    assert browser.execute_script(
        "const c = document.getElementById('lm-attention'); const d = c.getContext('2d').getImageData(0, 0, c.width,"
        " c.height).data; let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 2] < 100) dark++;"
        " return dark") > 0
    Select(browser.find_element(By.ID, "lm-layer")).select_by_index(1)
    wait(browser).until(lambda d: canvas.get_attribute("data-layer") == "1")
    second = heatmap(browser)
    Select(browser.find_element(By.ID, "lm-head")).select_by_index(1)
    wait(browser).until(lambda d: canvas.get_attribute("data-head") == "1")
    assert len({first, second, heatmap(browser)}) == 3
    for model in ("lstm", "transformer"):
        assert len(bars(browser, model)) == 10
        assert "paramètres" in browser.find_element(By.CSS_SELECTOR, f'[data-score="{model}"]').text
    assert "1,9 bits par caractère" in browser.find_element(By.CSS_SELECTOR, '[data-score="transformer"]').text

    # The temperature slider reshapes the bars in the page, without asking the server.
    asked, before = inspect_requests(browser), bars(browser, "transformer")
    slider = browser.find_element(By.ID, "lm-slider-temperature")
    slider.send_keys(*[Keys.ARROW_RIGHT] * 10)  # 0.8 → 1.3
    assert browser.find_element(By.ID, "lm-slider-temperature-value").text == "1.30"
    after = bars(browser, "transformer")
    assert after != before and after[0] < before[0]  # a higher temperature flattens the favourite's lead
    browser.find_element(By.ID, "lm-slider-top-k").send_keys(Keys.HOME)  # k = 1: all on the favourite
    assert bars(browser, "transformer")[0] == 1 and sum(bars(browser, "transformer")[1:]) == 0
    assert inspect_requests(browser) == asked
    browser.find_element(By.ID, "lm-slider-top-k").send_keys(*[Keys.ARROW_RIGHT] * 9)

    # "Morceau suivant" draws a piece, shows it after the prompt and asks for the next distribution.
    explored = browser.find_element(By.CSS_SELECTOR, '[data-inspect="lstm"] .explored')
    assert explored.find_element(By.CSS_SELECTOR, ".prompt-echo").text == "ROMEO:"
    browser.find_element(By.CSS_SELECTOR, '.next-piece[data-model="lstm"]').click()
    wait(browser).until(lambda d: len(explored.find_elements(By.CSS_SELECTOR, ".piece")) == 1)
    assert inspect_requests(browser) == asked + 1
    browser.execute_script("document.getElementById('lm-inspect').scrollIntoView()")
    browser.save_screenshot(str(screenshots / "inside-language-models.png"))
    browser.execute_script("document.querySelector('.attention').scrollIntoView()")
    browser.save_screenshot(str(screenshots / "inside-attention.png"))
    assert_no_console_errors(browser)


def race(browser, pieces: int) -> list:
    """Generate ``pieces`` pieces in the language-model tab; both columns, once each has its pieces."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, "lm-length").clear()
    browser.find_element(By.ID, "lm-length").send_keys(str(pieces))
    browser.find_element(By.ID, "lm-generate").click()
    columns = browser.find_elements(By.CSS_SELECTOR, ".lm-column[data-model]")
    wait(browser).until(lambda d: all(c.get_attribute("aria-busy") == "false"
                                      and c.find_elements(By.CSS_SELECTOR, ".piece") for c in columns))
    return columns


def test_the_race_shows_the_prompt_before_each_continuation(browser, inspect_server):
    from selenium.webdriver.common.by import By

    open_tab(browser, inspect_server, "lm")
    for column in race(browser, 5):
        text = column.find_element(By.CSS_SELECTOR, ".lm-text")
        assert text.find_element(By.CSS_SELECTOR, ".prompt-echo").text == "ROMEO:"
        assert text.text.startswith("ROMEO:")
    assert_no_console_errors(browser)


def test_the_digit_tab_shows_saliency_units_entropy_and_accuracy(browser, inspect_server, mnist_raw, screenshots):
    from selenium.webdriver.common.by import By

    open_tab(browser, inspect_server, "digits")
    label, image = mnist_test_digits(mnist_raw)[1]
    draw(browser, browser.find_element(By.ID, "digit-canvas"), strokes(image))
    prediction = browser.find_element(By.ID, "digit-prediction")
    wait(browser).until(lambda d: prediction.get_attribute("data-state") == "idle"
                        and prediction.get_attribute("data-digit") is not None)
    assert prediction.get_attribute("data-digit") == str(label)
    saliency = browser.find_element(By.ID, "digit-saliency")
    assert saliency.get_attribute("data-drawn") == "true" and saliency.is_displayed()
    coloured = browser.execute_script(
        "const d = document.getElementById('digit-saliency').getContext('2d').getImageData(0, 0, 28, 28).data;"
        "let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 2] < 80) n++; return n")
    assert coloured > 10  # orange: ink that pushed towards the digit read
    assert len(browser.find_elements(By.CSS_SELECTOR, "#digit-units li canvas")) == 6
    entropy = browser.find_element(By.ID, "digit-entropy")
    assert entropy.is_displayed() and "bits" in entropy.text and "choisit toujours" in entropy.text
    assert "98,95 %" in browser.find_element(By.ID, "digit-accuracy").text
    browser.execute_script("document.getElementById('digit-prediction').scrollIntoView()")
    browser.save_screenshot(str(screenshots / "inside-digits.png"))
    browser.find_element(By.ID, "digit-clear").click()
    assert not browser.find_element(By.ID, "digit-inside").is_displayed()
    assert_no_console_errors(browser)


def test_inside_the_models_fits_a_phone(browser, inspect_server, screenshots):
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    open_tab(browser, inspect_server, "lm")
    wait(browser).until(lambda d: d.find_element(By.ID, "lm-attention").get_attribute("data-tokens"))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= \
        browser.execute_script("return window.innerWidth")
    browser.execute_script("document.getElementById('lm-inspect').scrollIntoView()")
    browser.save_screenshot(str(screenshots / "phone-inside-language-models.png"))
    assert_no_console_errors(browser)


def test_an_experiments_network_can_be_chosen_and_reads_the_same_drawing(browser, experiment_server, mnist_raw,
                                                                        screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_tab(browser, experiment_server, "digits")
    choice = browser.find_element(By.ID, "digit-experiment")
    wait(browser).until(lambda d: choice.is_displayed())
    _, image = mnist_test_digits(mnist_raw)[2]
    draw(browser, browser.find_element(By.ID, "digit-canvas"), strokes(image))
    prediction = browser.find_element(By.ID, "digit-prediction")
    read = lambda: browser.execute_script(  # noqa: E731
        "return [...document.querySelectorAll('#digit-bars progress')].map(p => p.value)")
    wait(browser).until(lambda d: prediction.get_attribute("data-state") == "idle"
                        and prediction.get_attribute("data-digit") is not None)
    workspace = read()
    options = Select(choice).options
    assert len(options) == 2 and "mnist.hidden=[48]" in options[1].text and "%" in options[1].text
    Select(choice).select_by_index(1)
    wait(browser).until(lambda d: prediction.get_attribute("data-state") == "idle" and read() != workspace)
    # Another network's reading (both are tiny here: one epoch on 2,000 digits, so no right answer is assumed).
    assert abs(sum(read()) - 1) < 0.01 and prediction.get_attribute("data-digit") is not None
    browser.save_screenshot(str(screenshots / "inside-experiment.png"))
    assert_no_console_errors(browser)


def test_an_lstm_experiment_can_be_chosen_and_generates(browser, experiment_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_tab(browser, experiment_server, "lm")
    choice = browser.find_element(By.ID, "lm-experiment")
    wait(browser).until(lambda d: choice.is_displayed())
    banner = browser.find_element(By.CSS_SELECTOR, '[data-section-status="lm_lstm"]')
    wait(browser).until(lambda d: banner.is_displayed())  # the workspace never trained its language models
    # Only the experiment that trained language models is offered here (the MLP one is the digit tab's).
    options = Select(choice).options
    assert len(options) == 2 and "lstm.hidden=24" in options[1].text and "bits/car." in options[1].text
    Select(choice).select_by_index(1)
    assert not banner.is_displayed()  # it spoke of the workspace's models, not the experiment's
    for column in race(browser, 4):
        assert column.find_element(By.CSS_SELECTOR, ".lm-text").text.startswith("ROMEO:")
    browser.save_screenshot(str(screenshots / "inside-lm-experiment.png"))
    assert_no_console_errors(browser)
