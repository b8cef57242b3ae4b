"""The lab's sections in headless Chromium, on the real server (`web/serve.py`, waitress): digits drawn on
the canvas with the pointer, the two language models streaming, the search's highlighted sentences, the
report; no console errors. Set DLLAB_SCREENSHOTS to a folder to keep a screenshot of each section there
(`make screenshots` writes them to reports/web/ for the README)."""
import pytest

from tests.web.lab import CANVAS, mnist_test_digits, strokes

pytestmark = pytest.mark.slow


def wait(browser, seconds=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.05)


def open_tab(browser, url, name):
    from selenium.webdriver.common.by import By

    browser.get(f"{url}/#{name}")
    panel = browser.find_element(By.ID, f"panel-{name}")
    wait(browser).until(lambda d: panel.is_displayed())
    return panel


def draw(browser, canvas, lines):
    """Each line as one pointer stroke: press at its start, move to its end, lift."""
    from selenium.webdriver.common.action_chains import ActionChains

    size = canvas.size["width"]
    scale = size / CANVAS  # the canvas may be drawn smaller than its 280 pixels
    to_offset = lambda x, y: (round((x - CANVAS / 2) * scale), round((y - CANVAS / 2) * scale))  # noqa: E731
    actions = ActionChains(browser, duration=5)
    for start, end in lines:
        actions.move_to_element_with_offset(canvas, *to_offset(*start)).click_and_hold()
        actions.move_to_element_with_offset(canvas, *to_offset(*end)).release()
    actions.perform()


def assert_no_console_errors(browser):
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def test_digits_drawn_on_the_canvas_are_read_correctly(browser, lab_server, mnist_raw, screenshots):
    from selenium.webdriver.common.by import By

    open_tab(browser, lab_server, "digits")
    canvas = browser.find_element(By.ID, "digit-canvas")
    prediction = browser.find_element(By.ID, "digit-prediction")
    for label, image in mnist_test_digits(mnist_raw):
        browser.find_element(By.ID, "digit-clear").click()
        draw(browser, canvas, strokes(image))
        wait(browser).until(lambda d: prediction.get_attribute("data-state") == "idle"
                            and prediction.get_attribute("data-digit") is not None)
        assert prediction.get_attribute("data-digit") == str(label), (label, prediction.text)
        bars = browser.find_elements(By.CSS_SELECTOR, "#digit-bars progress")
        values = [float(bar.get_attribute("value")) for bar in bars]
        assert len(values) == 10 and values.index(max(values)) == label and abs(sum(values) - 1) < 0.01
        # The 28×28 input is drawn: its centre has ink (the digit, white on black).
        centre = browser.execute_script(
            "const c = document.getElementById('digit-input').getContext('2d');"
            "return Array.from(c.getImageData(4, 4, 20, 20).data).filter((v, i) => i % 4 == 0 && v > 128).length")
        assert centre > 20
    browser.save_screenshot(str(screenshots / "digits.png"))
    browser.find_element(By.ID, "digit-clear").click()
    assert prediction.get_attribute("data-digit") is None
    bars = browser.find_elements(By.CSS_SELECTOR, "#digit-bars progress")
    assert all(float(bar.get_attribute("value")) == 0 for bar in bars)
    assert_no_console_errors(browser)


def test_both_language_models_stream_pieces_with_their_probabilities(browser, lab_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_tab(browser, lab_server, "lm")
    prompt = browser.find_element(By.ID, "lm-prompt")
    prompt.clear()
    prompt.send_keys("ROMEO: <b>", Keys.ENTER)  # the keyboard is enough
    columns = browser.find_elements(By.CSS_SELECTOR, ".lm-column")
    # Both columns grow while the other one does too (streamed), then both are done.
    wait(browser).until(lambda d: all(int(c.find_element(By.CSS_SELECTOR, ".lm-text").get_attribute("data-pieces")) >= 3
                                      for c in columns))
    wait(browser).until(lambda d: all(c.get_attribute("aria-busy") == "false" for c in columns))
    for column in columns:
        pieces = column.find_elements(By.CSS_SELECTOR, ".lm-text .piece")
        assert len(pieces) >= 10 and column.find_element(By.CSS_SELECTOR, ".lm-text").text.strip()
        assert {p.get_attribute("class") for p in pieces[:2]} == {"piece odd", "piece even"}  # shaded alternately
        assert all(p.get_attribute("title").startswith("p = ") for p in pieces)
        assert "morceaux en" in column.find_element(By.CSS_SELECTOR, ".lm-meta").text
        assert not column.find_elements(By.CSS_SELECTOR, ".lm-text b")
    assert browser.find_element(By.ID, "lm-error").get_attribute("hidden") is not None
    browser.save_screenshot(str(screenshots / "language-models.png"))
    assert_no_console_errors(browser)
    # A value the server refuses: its message is shown, naming the field (the 400 is all the console says).
    browser.find_element(By.ID, "lm-temperature").clear()
    browser.find_element(By.ID, "lm-temperature").send_keys("0")
    browser.find_element(By.ID, "lm-generate").click()
    error = wait(browser).until(lambda d: d.find_element(By.ID, "lm-error").text)
    assert "temperature = 0.0 is not allowed" in error
    assert [entry["message"].split(" - ")[-1] for entry in browser.get_log("browser")] == [
        "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]


def test_search_shows_passages_with_scores_and_the_best_sentence_highlighted(browser, lab_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_tab(browser, lab_server, "search")
    question = "Quelles sont les variantes de la tarte aux pommes ? <i>"
    browser.find_element(By.ID, "search-q").send_keys(question, Keys.ENTER)
    items = wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results .passage"))
    assert len(items) >= 2
    for item in items:
        scores = item.find_element(By.CSS_SELECTOR, ".passage-scores").text
        assert "dense" in scores and "lexical" in scores and "fusionné" in scores
        assert item.find_element(By.CSS_SELECTOR, ".passage-where").text.startswith("tarte.txt")
    marks = browser.find_elements(By.CSS_SELECTOR, "#search-results mark")
    assert marks and all(mark.text.strip() for mark in marks)
    assert "Tatin" in items[0].text
    browser.save_screenshot(str(screenshots / "search.png"))
    assert_no_console_errors(browser)


def test_the_report_opens_from_the_page(browser, lab_server, screenshots):
    from selenium.webdriver.common.by import By

    browser.get(lab_server + "/")
    browser.find_element(By.ID, "report-link").click()
    wait(browser).until(lambda d: d.current_url.endswith("/report"))
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("dllab")
    images = browser.find_elements(By.CSS_SELECTOR, "img")
    assert images and all(browser.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"  # the page's language
    browser.save_screenshot(str(screenshots / "report.png"))
    assert_no_console_errors(browser)
    # It leads back to the page; a tab's own link opens the report at that tab's section.
    browser.find_element(By.ID, "back").click()
    wait(browser).until(lambda d: d.current_url == lab_server + "/")
    open_tab(browser, lab_server, "digits")
    browser.find_element(By.CSS_SELECTOR, '#panel-digits a[href="/report#mnist"]').click()
    wait(browser).until(lambda d: d.current_url.endswith("/report#mnist"))
    assert browser.find_element(By.ID, "mnist").text.startswith("MNIST")
    assert_no_console_errors(browser)


def test_the_page_fits_a_phone_and_tabs_work_from_the_keyboard(browser, lab_server, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.set_window_size(390, 844)
    browser.get(lab_server + "/")
    browser.find_element(By.ID, "tab-chat").send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("id") == "tab-digits"
    assert browser.find_element(By.ID, "panel-digits").is_displayed()
    assert not browser.find_element(By.ID, "panel-chat").is_displayed()
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth")  # nothing wider than the phone
    canvas = browser.find_element(By.ID, "digit-canvas")
    assert canvas.size["width"] < 320
    # Arrows draw on the focused canvas; the drawing is read.
    canvas.click()
    canvas.send_keys(*[Keys.ARROW_DOWN] * 10)
    wait(browser).until(lambda d: d.find_element(By.ID, "digit-prediction").get_attribute("data-digit") is not None)
    browser.save_screenshot(str(screenshots / "phone-digits.png"))
    assert_no_console_errors(browser)


def test_without_the_chats_files_the_page_says_which_stages_to_run(browser, tmp_path, lab_files):
    import json

    from selenium.webdriver.common.by import By

    from web.client import running_server
    from tests.chat import helpers

    params = tmp_path / "params.yaml"
    params.write_text(json.dumps(helpers.server_params()), encoding="utf-8")
    with running_server("--params", str(params), "--model", str(tmp_path / "none.gguf"),
                        "--index", str(tmp_path / "no-index"), "--audio-cache", str(tmp_path / "audio"),
                        "--mnist-model", str(lab_files.mnist_model), "--lstm", str(tmp_path / "no-lstm.pt"),
                        "--transformer", str(lab_files.transformer), "--tokenizer", str(lab_files.tokenizer),
                        "--report", str(lab_files.report), "--load-on-first-use") as (url, _):
        browser.get(url + "/")
        notice = browser.find_element(By.CSS_SELECTOR, '[data-section-status="chat"]')
        wait(browser).until(lambda d: notice.is_displayed())
        assert "dvc repro llm_download rag_index" in notice.text
        assert browser.find_element(By.ID, "server-info").text == "Chatbot indisponible."
        open_tab(browser, url, "lm")
        assert "dvc repro lstm_train" in browser.find_element(By.CSS_SELECTOR, '[data-section-status="lm_lstm"]').text
        assert not browser.find_element(By.CSS_SELECTOR, '[data-section-status="lm_transformer"]').is_displayed()
        assert_no_console_errors(browser)
