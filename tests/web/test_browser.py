"""Headless Chromium (Debian's, driven by Selenium) on the page served by the real server.

The main test starts the server as the README says: `python web/serve.py` from the root of the
repository (a copy of it, with the pipeline's model and index), default files and params; only
`--port 0` is added (a free port, also in the README) so that a server already on port 8000 or a
second test run does not clash with it.
"""
import json
import re

import pytest

from web.client import running_server

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


# Every <audio> of the page that is playing, counted at each "playing" event: the most at once.
WATCH_PLAYBACK = """
window.mostPlaying = 0;
document.addEventListener("playing", () => {
  const now = [...document.querySelectorAll("audio")].filter((a) => !a.paused).length;
  window.mostPlaying = Math.max(window.mostPlaying, now);
}, true);
"""
PLAYING = "return [...document.querySelectorAll('audio')].filter(a => !a.paused && a.currentTime > 0.2)" \
          ".map(a => ({cls: a.className, src: a.src, hidden: a.hidden, turn: [...document.querySelectorAll('.turn')].indexOf(a.closest('.turn'))}))"
SPOKEN = "Quelles sont les différentes variantes de la tarte aux pommes ?"
# Where the newest answer's text is in the window, and where the sticky question box starts.
IN_VIEW = """
const text = [...document.querySelectorAll('.turn .answer .text')].pop().getBoundingClientRect();
return {top: text.top, bottom: text.bottom, formTop: document.getElementById('ask-form').getBoundingClientRect().top};
"""


def audio_requests(driver) -> list[str]:
    """The /audio/ URLs the page asked for since the last call (Chromium's network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent" and "/audio/" in message["params"]["request"]["url"]:
            urls.append(message["params"]["request"]["url"])
    return urls


def spoken_question_wav(folder, kokoro_files) -> tuple[str, float]:
    """The question said by the lab's question voice, as the WAV file the fake microphone plays."""
    import shutil

    from dllab.speech.config import TtsParams
    from dllab.speech.tts import Speaker
    from tests.chat import helpers

    tts = helpers.repo_section(TtsParams).with_values(engine="kokoro")
    speaker = Speaker.from_params(tts, folder / "audio", kokoro_files)
    clip = speaker.speak(SPOKEN, "question")
    shutil.copyfile(clip.path, folder / "question.wav")
    return str(folder / "question.wav"), clip.seconds


def test_a_spoken_question_is_answered_aloud_and_stop_and_a_new_question_silence_it(readme_repo, tmp_path,
                                                                                     kokoro_files, screenshots):
    """The issue's "Done when": Chromium with a fake microphone playing a question the lab said."""
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from dllab.speech import measure
    from tests.web.conftest import start_chromium

    wav, seconds = spoken_question_wav(tmp_path, kokoro_files)
    driver = start_chromium(tmp_path / "profile", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-audio-capture={wav}%noloop")
    try:
        with running_server(cwd=readme_repo, script="web/serve.py") as (url, _):
            driver.get(url + "/")
            wait = WebDriverWait(driver, 240, poll_frequency=0.05)
            wait.until(lambda d: "voix kokoro" in d.find_element(By.ID, "server-info").text)
            driver.execute_script(WATCH_PLAYBACK)
            box, mic = driver.find_element(By.ID, "question"), driver.find_element(By.ID, "mic")

            # Speak: the microphone button from the keyboard, the recording, the transcript in the box.
            mic.send_keys(Keys.ENTER)
            wait.until(lambda d: mic.get_attribute("aria-pressed") == "true")
            time.sleep(seconds + 1.0)  # the fake microphone says the question once
            mic.send_keys(Keys.ENTER)
            wait.until(lambda d: box.get_attribute("value").strip())
            heard = box.get_attribute("value")
            assert measure.word_error_rate([SPOKEN], [heard]) <= 0.3, heard
            assert json.loads(driver.execute_script("return JSON.stringify(document.activeElement.id)")) == "question"

            # Send it: the answer streams and is said, sentence by sentence, in the answer's visible player.
            box.send_keys(Keys.ENTER)
            first = driver.find_elements(By.CSS_SELECTOR, ".turn")[0]
            wait.until(lambda d: first.find_element(By.CSS_SELECTOR, ".answer .text").text.strip())
            wait.until(lambda d: (first.get_attribute("data-said") or "").startswith("question")
                       and any(p["cls"].startswith("answer-audio") for p in d.execute_script(PLAYING)))
            playing = driver.execute_script(PLAYING)
            assert len(playing) == 1 and playing[0]["turn"] == 0 and not playing[0]["hidden"], playing
            assert "/audio/" in playing[0]["src"]

            # Stop: the player pauses and no further clip is asked for, while the server still announces them.
            audio_requests(driver)
            stop = driver.find_element(By.ID, "stop-audio")
            assert stop.is_displayed()
            said = first.get_attribute("data-said")
            stop.click()
            assert driver.execute_script("return [...document.querySelectorAll('audio')].every(a => a.paused)")
            time.sleep(4)
            assert audio_requests(driver) == [] and first.get_attribute("data-said") == said
            assert driver.execute_script("return [...document.querySelectorAll('audio')].every(a => a.paused)")
            assert not stop.is_displayed()

            # A second question while the first answer of it is still being said: the new turn's voice only.
            wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
            box.send_keys("Quel est le secret d'une bonne tarte aux pommes ?", Keys.ENTER)
            second = driver.find_elements(By.CSS_SELECTOR, ".turn")[1]
            wait.until(lambda d: any(p["turn"] == 1 and p["cls"].startswith("answer-audio")
                                     for p in d.execute_script(PLAYING)))
            wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
            box.send_keys("Comment faire une tarte aux pommes ?", Keys.ENTER)
            wait.until(lambda d: any(p["turn"] == 2 for p in d.execute_script(PLAYING)))
            assert driver.execute_script("return window.mostPlaying") == 1
            assert all(p["turn"] == 2 for p in driver.execute_script(PLAYING))
            assert second.find_element(By.CSS_SELECTOR, ".answer-audio").get_attribute("paused") is not None
            seen = driver.execute_script(IN_VIEW)  # the third answer is in sight, above the question box
            assert 0 <= seen["top"] and seen["bottom"] <= seen["formTop"] + 1, seen
            assert driver.save_screenshot(str(screenshots / "chat-voice.png"))
    finally:
        driver.quit()


def test_at_phone_width_each_new_turn_lands_above_the_question_box(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(390, 844)
    browser.get(live_server + "/")
    wait = WebDriverWait(browser, 120, poll_frequency=0.05)
    wait.until(lambda d: "passages indexés" in d.find_element(By.ID, "server-info").text)
    browser.find_element(By.ID, "autoplay").click()  # text only: this test looks at the layout
    for number, question in enumerate(["Quelle pomme choisir ?", "Et pour la pâte ?", "Combien de temps au four ?"]):
        browser.find_element(By.ID, "question").send_keys(question, Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn")) == number + 1 and
                   d.find_elements(By.CSS_SELECTOR, ".turn")[-1].find_element(By.CSS_SELECTOR, ".answer")
                   .get_attribute("aria-busy") == "false")
        wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
        seen = browser.execute_script(IN_VIEW)
        assert 0 <= seen["top"] and seen["bottom"] <= seen["formTop"] + 1, (number, seen)


def test_the_counter_warns_before_the_limit_and_a_long_question_says_how_much_is_read(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server + "/")
    wait = WebDriverWait(browser, 120, poll_frequency=0.05)
    wait.until(lambda d: "passages indexés" in d.find_element(By.ID, "server-info").text)
    box, counter = browser.find_element(By.ID, "question"), browser.find_element(By.ID, "question-count")
    box.send_keys("Comment faire une tarte ? " * 20)  # 520 characters: no counter yet
    assert not counter.is_displayed()
    box.send_keys("x" * 330)
    assert counter.is_displayed() and counter.text == "850 / 1000 caractères"
    box.send_keys("y" * 400)  # the box takes 1000 at most, and says so
    assert len(box.get_attribute("value")) == 1000 and counter.text == "Limite atteinte : 1000 caractères au plus."
    browser.find_element(By.ID, "send").click()
    note = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".turn .read-note").text)
    said = int(re.search(r"les (\d+) premiers caractères sur 1000", note).group(1))
    assert 20 < said <= 200  # tts.question_chars


def test_a_stopped_server_and_a_refused_microphone_are_said_in_french(tmp_path, base):
    """Without --use-fake-ui-for-media-stream headless Chromium refuses the microphone, as a user can."""
    import yaml
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.chat import helpers
    from tests.web.conftest import start_chromium

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(helpers.server_params(), allow_unicode=True), encoding="utf-8")
    driver = start_chromium(tmp_path / "profile", "--use-fake-device-for-media-stream", "--deny-permission-prompts")
    try:
        with running_server("--params", str(params), "--model", str(helpers.model_file(base)), "--index",
                            str(helpers.index_dir(base)), "--audio-cache", str(tmp_path / "audio"),
                            "--whisper", str(tmp_path / "no-whisper")) as (url, _):
            driver.get(url + "/")
            wait = WebDriverWait(driver, 60, poll_frequency=0.05)
            wait.until(lambda d: "passages indexés" in d.find_element(By.ID, "server-info").text)
            mic = driver.find_element(By.ID, "mic")
            assert not mic.is_enabled() and "dvc repro whisper_download" in mic.get_attribute("title")
            driver.execute_script("document.getElementById('mic').disabled = false;")  # as if Whisper were there
            mic.click()
            error = wait.until(lambda d: d.find_element(By.ID, "error").text)
            assert error.startswith("L'accès au micro est refusé"), error
        # The server is gone: asking says so in French, not "Failed to fetch".
        driver.find_element(By.ID, "question").send_keys("Comment faire une tarte ?")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: d.find_element(By.ID, "error").text.startswith("Le serveur ne répond pas"))
    finally:
        driver.quit()


def test_unticking_the_box_or_a_new_conversation_stops_the_voice(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server + "/")
    wait = WebDriverWait(browser, 120, poll_frequency=0.02)
    wait.until(lambda d: "passages indexés" in d.find_element(By.ID, "server-info").text)
    box, autoplay = browser.find_element(By.ID, "question"), browser.find_element(By.ID, "autoplay")
    all_paused = "return [...document.querySelectorAll('audio')].every(a => a.paused)"
    long_question = "Quelle pomme choisir pour une tarte, et comment la couper en lamelles bien régulières ?"
    for stop in ("untick", "reset"):
        box.send_keys(long_question, Keys.ENTER)
        wait.until(lambda d: d.execute_script("return [...document.querySelectorAll('audio')].some(a => !a.paused)"))
        said = browser.find_elements(By.CSS_SELECTOR, ".turn")[-1].get_attribute("data-said")
        if stop == "untick":
            autoplay.click()
            assert browser.execute_script(all_paused) and not browser.find_element(By.ID, "stop-audio").is_displayed()
            assert browser.find_elements(By.CSS_SELECTOR, ".turn")[-1].get_attribute("data-said") == said
            wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
            autoplay.click()  # ticked again for the next round
        else:
            browser.find_element(By.ID, "reset").click()
            assert browser.execute_script(all_paused) and browser.find_elements(By.CSS_SELECTOR, ".turn") == []
        wait.until(lambda d: d.find_element(By.ID, "send").is_enabled())
