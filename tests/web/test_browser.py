"""Headless Chromium (Debian's, driven by Selenium) on the page served by the real server.

The main test starts the server as the README says: `python web/serve.py` from the root of the
repository (a copy of it, with the pipeline's model and index), default files and params; only
`--port 0` is added (a free port, also in the README) so that a server already on port 8000 or a
second test run does not clash with it.
"""
import json
import re

import pytest

from dllab.chat.client import running_server

pytestmark = pytest.mark.slow

QUESTION = "Quelles sont les différentes variantes de la tarte aux pommes ? <b>vite</b>"

# An audio element of the page: its source's first bytes, then whether it loads (readyState >= 2) and
# plays (its time advances) from the start.
CHECK_AUDIO = """
const [selector, done] = [arguments[0], arguments[arguments.length - 1]];
const audio = document.querySelector(selector);
fetch(audio.src).then(r => r.arrayBuffer().then(buf => {
  const head = String.fromCharCode(...new Uint8Array(buf.slice(0, 12)));
  const report = (played) => done({status: r.status, type: r.headers.get("Content-Type"), head,
                                   readyState: audio.readyState, duration: audio.duration, played});
  const play = () => {
    audio.muted = true;
    audio.currentTime = 0;
    audio.addEventListener("timeupdate", () => { if (audio.currentTime > 0) report(audio.currentTime); });
    audio.play().catch(err => report("refused: " + err));
  };
  if (audio.readyState >= 2) play(); else audio.addEventListener("canplay", play, {once: true});
}));
"""


def test_the_readme_server_streams_the_answer_and_says_both_voices(browser, readme_repo, screenshots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with running_server(cwd=readme_repo, script="web/serve.py") as (url, _):
        browser.get(url + "/")
        wait = WebDriverWait(browser, 240, poll_frequency=0.05)
        wait.until(lambda d: "passages indexés" in d.find_element(By.ID, "server-info").text)
        assert "Modèle Smollm2 135M" in browser.find_element(By.ID, "server-info").text  # its GGUF name, not the file's
        box = browser.find_element(By.CSS_SELECTOR, "label[for=question] + .ask-row textarea")
        assert box.get_attribute("id") == "question"
        box.send_keys(QUESTION, Keys.ENTER)  # the keyboard alone is enough

        # The answer streams in (the default quote mode sends it sentence by sentence) and its first
        # sentence is said after the question.
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".answer .text").text.strip())
        turn = browser.find_element(By.CSS_SELECTOR, ".turn")
        wait.until(lambda d: (turn.get_attribute("data-said") or "").startswith("question 0"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".answer").get_attribute("aria-busy") == "false")
        assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None

        # A grounded answer: its sentences cite numbered sources, and the cited ones are marked in the list.
        answer = browser.find_element(By.CSS_SELECTOR, ".answer .text").text
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
        items = browser.find_elements(By.CSS_SELECTOR, ".source-list li")
        marked = {n for n, item in enumerate(items, start=1) if "cited" in item.get_attribute("class")}
        assert cited and cited == marked, (answer, marked)

        # The question is shown as text, markup included, never interpreted.
        assert browser.find_element(By.CSS_SELECTOR, ".question .text").text == QUESTION
        assert not browser.find_elements(By.CSS_SELECTOR, ".question .text b")
        sources = browser.find_elements(By.CSS_SELECTOR, ".source-list li")
        assert sources and sources[0].find_element(By.CSS_SELECTOR, ".source-where").text.startswith(
            ("document.pdf, page ", "connaissances.txt"))
        assert browser.find_element(By.CSS_SELECTOR, ".timings").text

        # Sentences are said in order: wait for the second one when there is one.
        sentences = int(turn.get_attribute("data-sentences"))
        said = " ".join(["question"] + [str(i) for i in range(min(sentences, 2))])
        wait.until(lambda d: (turn.get_attribute("data-said") or "").startswith(said))

        for selector in (".question-audio", ".answer-audio"):
            audio = browser.execute_async_script(CHECK_AUDIO, selector)
            assert audio["status"] == 200 and audio["type"] == "audio/wav", audio
            assert audio["head"][:4] == "RIFF" and audio["head"][8:12] == "WAVE"
            assert audio["readyState"] >= 2 and audio["duration"] > 0.2, audio
            assert isinstance(audio["played"], float) and audio["played"] > 0, audio
        assert browser.save_screenshot(str(screenshots / "chat.png"))


def test_a_server_error_is_shown_in_the_page(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server + "/")
    browser.find_element(By.ID, "question").send_keys("x" * 1000)
    browser.execute_script("document.getElementById('question').maxLength = 5000;"
                           "document.getElementById('question').value += 'y'.repeat(10);")
    browser.find_element(By.ID, "send").click()
    error = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "error").text)
    assert "the limit is 1000" in error
    assert json.loads(browser.execute_script("return JSON.stringify(document.activeElement.id)")) == "question"
