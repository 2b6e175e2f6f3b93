"""Untrusted text renders inert in the page, read from the rendered DOM in headless Chromium (Selenium
with Debian's chromedriver): a model answer, a Sources panel and an imported conversation carrying
HTML, a script, a javascript: link and a remote tracking image show as text; the text a user types
is sanitized by Gradio and its remote images are blocked by the page's Content-Security-Policy
(a tracking server on another port counts the requests that reach it: none).

The page is the app's own chat window (ui/layout.py ``make_chatbot``) holding the app's own messages
(ui/messages.py, ui/files.py), launched with the app's launch options (app.py ``launch_kwargs``).
"""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gradio as gr
import pytest

import app as medchat_app
from model.records import Source
from ui.files import load_conversation
from ui.layout import make_chatbot
from ui.messages import answer_message, sources_message, thinking_message

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)), reason="chromium and chromedriver are needed"
)


class _Tracker(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        _Tracker.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tracker():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _payload(tracker: str, where: str) -> str:
    return (
        f"{where}: <img src=x onerror=\"document.title='pwned'\"> <script>document.title='pwned'</script> "
        f"[click me](javascript:document.title='pwned') ![pixel]({tracker}/track.png?leak={where}) "
        f'<a href="javascript:alert(1)">link</a> <b>bold</b>'
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page(tracker, tmp_path_factory):
    """A launched page whose chat holds: a typed user message, a model's reasoning (Thinking block),
    an answer, its Sources panel, and an imported conversation (user + assistant), each carrying
    the payloads."""
    imported = tmp_path_factory.mktemp("import") / "conversation.json"
    imported.write_text(
        json.dumps(
            [
                {"role": "user", "content": _payload(tracker, "imported-question")},
                {"role": "assistant", "content": _payload(tracker, "imported-answer")},
            ]
        ),
        encoding="utf-8",
    )
    source = Source(1, "evil<img src=x onerror=1>.md", "c1", 0.5, _payload(tracker, "source"))
    history = [
        {"role": "user", "content": _payload(tracker, "typed")},
        thinking_message(_payload(tracker, "thinking"), 2.0),
        answer_message(_payload(tracker, "answer"), "ans-1"),
        sources_message([source]),
        *load_conversation(imported, 1_000_000),
    ]
    with gr.Blocks() as demo:
        make_chatbot(value=history)
    args = medchat_app.parse_args(["--no-retrieval"], environ={})
    port = _free_port()
    kwargs = medchat_app.launch_kwargs(args) | {"server_name": "127.0.0.1", "server_port": port}
    demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('profile')}")
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _rendered_chat(browser, url):
    """The chat's DOM once every message (and the opened Sources panel) has rendered."""
    from selenium.webdriver.common.by import By

    browser.get(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        boxes = browser.find_elements(By.ID, "chatbot")
        if boxes and "imported-answer" in boxes[0].text:
            break
        time.sleep(0.2)
    box = browser.find_element(By.ID, "chatbot")
    for title in box.find_elements(By.XPATH, ".//*[contains(text(), 'Sources (1)')]"):
        title.click()  # open the collapsed panel so its content is in the page
        break
    while "source: " not in box.text and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # let any image the page would load be requested
    return box


def test_untrusted_text_renders_inert(page, browser, tracker):
    from selenium.webdriver.common.by import By

    _Tracker.hits.clear()
    box = _rendered_chat(browser, page)
    text = box.text
    for where in ("answer", "source", "imported-answer"):  # escaped by us: shown as the text it is
        assert f"{where}: <img src=x onerror=\"document.title='pwned'\">" in text, where
        assert f"[click me](javascript:document.title='pwned') ![pixel]({tracker}" in text, where
        assert '<a href="javascript:alert(1)">link</a> <b>bold</b>' in text, where
    assert "evil<img src=x onerror=1>.md" in text  # the source's name, quoted too
    quotes = [q.text for q in box.find_elements(By.TAG_NAME, "blockquote")]
    assert any(q.startswith("source: <img") for q in quotes)  # the source's text as a quotation
    # Nothing in the chat is live markup: no script, no handler, no javascript: link, no remote image.
    assert not box.find_elements(By.TAG_NAME, "script")
    assert not box.find_elements(By.CSS_SELECTOR, "[onerror], [onload], [onclick]")
    links = [a.get_attribute("href") or "" for a in box.find_elements(By.TAG_NAME, "a")]
    assert not [h for h in links if h.lower().startswith("javascript:")]
    images = [img.get_attribute("src") or "" for img in box.find_elements(By.TAG_NAME, "img")]
    assert not [
        src for src in images if "leak=answer" in src or "leak=source" in src or "imported-answer" in src
    ]
    assert browser.title != "pwned" and browser.execute_script("return document.title") != "pwned"
    # What the user typed is markdown (their own text), sanitized; its remote image is never fetched.
    assert "typed:" in text and _Tracker.hits == []


def test_reasoning_shows_collapsed_and_opens_as_inert_text(page, browser, tracker):
    from selenium.webdriver.common.by import By

    box = _rendered_chat(browser, page)
    (title,) = box.find_elements(By.XPATH, ".//*[contains(text(), 'Thinking')]")
    assert "thinking: " not in box.text  # collapsed: the reasoning is not shown until opened
    title.click()
    deadline = time.monotonic() + 30
    while "thinking: " not in box.text and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "thinking: <img src=x onerror=\"document.title='pwned'\">" in box.text
    assert f"[click me](javascript:document.title='pwned') ![pixel]({tracker}" in box.text
    images = [img.get_attribute("src") or "" for img in box.find_elements(By.TAG_NAME, "img")]
    assert not [src for src in images if "leak=thinking" in src]
    assert not box.find_elements(By.CSS_SELECTOR, "[onerror], [onload], [onclick]")
    time.sleep(1)  # let any image the page would load be requested
    assert not [hit for hit in _Tracker.hits if "leak=thinking" in hit]
