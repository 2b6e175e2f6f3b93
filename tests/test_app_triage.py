"""The triage model's second opinion made visible: a notice that only the triage model raised is
shown by the launched app (an emergency message after the answer) and sent by the API server (in
``medchat.emergency_notice`` / ``medchat.triage`` and, for text-only clients, after the reply:
streamed as a final chunk before [DONE]), taken off again exactly by model/client.py; a failed
check shows nothing and claims nothing.

The triage model is a real OpenAI-compatible HTTP server on 127.0.0.1 giving fixed answers
(tests/test_safety_triage.py's); the chat engine is the scripted one of
tests/test_serving_reasoning.py.

    pytest tests/test_app_triage.py
"""

from types import SimpleNamespace

import openai
import pytest
from gradio_client import Client
from test_safety_triage import GARBAGE, ORDINARY, QUIET_BUT_URGENT, RULE_EMERGENCY, endpoint  # noqa: F401
from test_serving_reasoning import ScriptedEngine, medchat_app_port

import app as medchat_app
import safety
from model.client import OpenAIEngine
from model.server import BackgroundServer, build_app
from safety.decision import build_notice
from safety.triage import TriageCheck
from ui.messages import EMERGENCY_TITLE, TRIAGE_EMERGENCY_TITLE, from_inert

ANSWER = "Rest and drink fluids."
PIECES = ["Rest ", "and drink ", "fluids."]
TRIAGE_NOTICE = build_notice(["cardiac"], "zh")  # the fixed endpoint calls QUIET_BUT_URGENT cardiac


def _title(message) -> str:
    return (message.get("metadata") or {}).get("title") or ""


@pytest.fixture(scope="module")
def app(endpoint, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("triage-app")
    args = medchat_app.parse_args(
        ["--no-retrieval", "--feedback-db", str(tmp / "f.sqlite"), "--triage-base-url", endpoint,
         "--triage-api-model", "fixed-triage", "--triage-timeout", "60"],
        environ={},
    )  # fmt: skip
    demo = medchat_app.build_demo(args, engine=ScriptedEngine(PIECES))
    port = medchat_app_port()
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=port)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", demo=demo)
    demo.close()


def _chat(app, text) -> list[dict]:
    return Client(app.url, verbose=False).predict(text, 0.0, 0.9, 16, 1.0, False, 1, api_name="/chat")


def test_the_page_shows_an_emergency_only_the_triage_model_saw_after_the_answer(app):
    assert not safety.check(QUIET_BUT_URGENT).emergency, "precondition: no rule fires"
    messages = _chat(app, QUIET_BUT_URGENT)
    titles = [_title(m) for m in messages]
    assert EMERGENCY_TITLE not in titles  # nothing before the answer: the rules saw no emergency
    answer_at = titles.index("")
    (triage_at,) = [i for i, t in enumerate(titles) if t == TRIAGE_EMERGENCY_TITLE]
    assert (
        triage_at > answer_at and messages[triage_at]["content"] == TRIAGE_NOTICE and "120" in TRIAGE_NOTICE
    )
    assert from_inert(messages[answer_at]["content"]) == ANSWER


@pytest.mark.parametrize("message", [ORDINARY, GARBAGE], ids=["agrees", "garbage-answer"])
def test_the_page_claims_nothing_when_the_check_agrees_or_fails(app, message):
    titles = [_title(m) for m in _chat(app, message)]
    assert not any(t.startswith("🚨") for t in titles)


def test_the_rules_notice_stays_first_when_the_triage_model_disagrees(app):
    messages = _chat(app, RULE_EMERGENCY)
    titles = [_title(m) for m in messages]
    assert titles[0] == EMERGENCY_TITLE and messages[0]["content"] == safety.check(RULE_EMERGENCY).notice
    assert TRIAGE_EMERGENCY_TITLE not in titles


@pytest.fixture(scope="module")
def server(endpoint):  # noqa: F811
    triage = TriageCheck(OpenAIEngine(endpoint, "fixed-triage", max_retries=0), timeout_s=60)
    with BackgroundServer(build_app(ScriptedEngine(PIECES), "scripted", triage=triage)) as srv:
        yield srv
    triage.close()


def _ask(server, text, **kwargs):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    return client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_the_api_reports_the_triage_notice_in_fields_and_after_the_text(server):
    reply = _ask(server, QUIET_BUT_URGENT)
    extra = reply.model_extra["medchat"]
    assert extra["triage"]["model"] == "fixed-triage" and extra["triage"]["emergency"] is True
    assert extra["emergency_notice"] == TRIAGE_NOTICE and extra["safety"]["emergency"] is True
    assert extra["added_text"] == {"prefix": "", "suffix": "\n\n" + TRIAGE_NOTICE}
    assert reply.choices[0].message.content == ANSWER + "\n\n" + TRIAGE_NOTICE


def test_the_api_streams_the_triage_notice_as_the_last_text_before_done(server):
    chunks = list(_ask(server, QUIET_BUT_URGENT, stream=True))
    texts = [
        (i, c.choices[0].delta.content)
        for i, c in enumerate(chunks)
        if c.choices and c.choices[0].delta.content
    ]
    last_at, last = texts[-1]
    assert last == "\n\n" + TRIAGE_NOTICE and "".join(t for _, t in texts[:-1]) == ANSWER
    assert chunks[last_at].model_extra["medchat"]["added_text"]["suffix"] == last
    (finish_at,) = [i for i, c in enumerate(chunks) if c.choices and c.choices[0].finish_reason]
    assert finish_at > last_at and chunks[finish_at].model_extra["medchat"]["triage"]["emergency"] is True
    assert chunks[0].model_extra["medchat"]["triage"] is None  # not yet known when the reply began


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_failed_check_adds_nothing_and_claims_nothing(server, stream):
    if stream:
        chunks = list(_ask(server, GARBAGE, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        extra = [c.model_extra["medchat"] for c in chunks if c.model_extra.get("medchat")][-1]
    else:
        reply = _ask(server, GARBAGE)
        text, extra = reply.choices[0].message.content, reply.model_extra["medchat"]
    assert text == ANSWER and extra["triage"] is None and extra["emergency_notice"] is None
    assert extra["added_text"]["suffix"] == "" and not (extra["safety"] or {}).get("triage")


def test_the_client_takes_off_exactly_the_triage_notice(server):
    remote = OpenAIEngine(server.url + "/v1", "scripted", max_retries=0)
    _, stream = remote.stream_chat([{"role": "user", "content": QUIET_BUT_URGENT}], remote_settings())
    assert stream.text() == ANSWER and stream.server_triage_notice == TRIAGE_NOTICE
    assert remote.chat([{"role": "user", "content": QUIET_BUT_URGENT}], remote_settings()) == ANSWER
    _, stream = remote.stream_chat([{"role": "user", "content": ORDINARY}], remote_settings())
    assert stream.text() == ANSWER and stream.server_triage_notice is None


def remote_settings():
    from model.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=16, temperature=0)
