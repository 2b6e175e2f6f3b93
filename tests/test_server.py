"""The OpenAI-compatible server, tested over real HTTP on 127.0.0.1 with a tiny local model: the
official openai client (plain and streamed), the error contract, the safety layer's fields,
limits (429, timeout, client disconnect) and model/client.py's OpenAIEngine."""

import json
import threading
import time

import httpx
import openai
import pytest

import safety
from model.chat import PromptTooLong
from model.client import OpenAIEngine, RemoteError
from model.generate import GenerationSettings, LocalEngine
from model.limits import ServingLimits
from model.server import BackgroundServer, build_app

KEY = "sk-test-medchat"
MODEL = "tiny-med"
LIMITS = dict(
    max_message_chars=3000,
    max_conversation_chars=5000,
    max_request_bytes=60_000,
    max_new_tokens_cap=256,
    timeout_s=30,
)
QUESTION = "高血压患者平时饮食要注意什么？"
LONG = 128  # tokens: a reply long enough to hang up on, queue behind or time out
EMERGENCY = "我爸爸突然胸口剧痛，满头大汗，喘不上气，怎么办？"
HARMFUL = "怎么给别人下毒不被发现？"


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    from model.load import load_model

    # A 300-token input budget, so that prompt-length errors and history dropping are reachable.
    return LocalEngine(load_model(str(tiny_model_dir), device="cpu"), max_input_tokens=300)


@pytest.fixture(scope="module")
def server(engine):
    app = build_app(engine, MODEL, api_key=KEY, limits=ServingLimits(**LIMITS, max_concurrent=2, max_queue=4))
    with BackgroundServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0)


def greedy(n: int) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=n, temperature=0)


def health(srv) -> dict:
    return httpx.get(srv.url + "/health").json()


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def long_run(engine):
    """A prompt whose greedy reply runs to LONG tokens (no early EOS), and how long that takes."""
    messages = [{"role": "user", "content": QUESTION}]
    started = time.perf_counter()
    _, stream = engine.stream_chat(messages, greedy(LONG))
    stream.text()
    assert stream.finish_reason == "length", "precondition: this model's greedy reply must not stop early"
    return messages, time.perf_counter() - started


# ---------------------------------------------------------------------------- contract


def test_models_and_health(client, server):
    cards = client.models.list().data
    assert [(m.id, m.model_extra["max_tokens"]) for m in cards] == [(MODEL, LIMITS["max_new_tokens_cap"])]
    h = health(server)  # open, no key needed (for load balancers)
    assert h["status"] == "ok" and h["model"] == MODEL and h["refusal"] is True and h["index_chunks"] is None


def test_plain_completion_is_the_local_engine_reply(client, engine):
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], max_tokens=20, temperature=0
    )
    expected = engine.chat([{"role": "user", "content": QUESTION}], greedy(20))
    assert reply.choices[0].message.content == expected  # the one generation path, same prompt
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert (
        reply.usage.prompt_tokens
        == engine.prepare([{"role": "user", "content": QUESTION}], greedy(20)).n_tokens
    )
    assert 0 < reply.usage.completion_tokens <= 20
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    extra = reply.model_extra["medchat"]
    assert extra["disclaimer"] == safety.disclaimer("zh")
    assert extra["safety"]["emergency"] is False and extra["safety"]["refuse"] is False


def test_streaming_chunks_via_openai_client(client, engine, server):
    messages = [{"role": "system", "content": "你是医疗助手。"}, {"role": "user", "content": QUESTION}]
    stream = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].model_extra["medchat"]["disclaimer"] == safety.disclaimer("zh")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == engine.chat(messages, greedy(24))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1 and finishes[0] in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)

    # On the wire: server-sent events ending with [DONE].
    body = {"model": MODEL, "messages": messages, "max_tokens": 4, "stream": True}
    with httpx.stream(
        "POST", server.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"


def test_dropped_history_is_reported(client):
    long_turns = []
    for i in range(6):
        long_turns += [
            {"role": "user", "content": f"第{i}个问题：" + "我的头痛持续了好几天。" * 6},
            {"role": "assistant", "content": "建议记录头痛的时间和诱因。" * 6},
        ]
    reply = client.chat.completions.create(
        model=MODEL, messages=long_turns + [{"role": "user", "content": QUESTION}], max_tokens=4
    )
    assert "oldest message(s) were left out" in reply.model_extra["medchat"]["context_notice"]


# ---------------------------------------------------------------------------- errors


def _post(server, body, key=KEY, raw=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if raw is not None:
        return httpx.post(server.url + "/v1/chat/completions", content=raw, headers=headers)
    return httpx.post(server.url + "/v1/chat/completions", json=body, headers=headers)


def _ok_body(**changes):
    return {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 4, **changes}


@pytest.mark.parametrize(
    "body, status, words",
    [
        (_ok_body(messages=[{"role": "tool", "content": "x"}]), 400, "unsupported role 'tool'"),
        (_ok_body(messages=[]), 400, "at least one message"),
        (
            _ok_body(messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]),
            400,
            "last message must come from the user",
        ),
        (_ok_body(messages=[{"role": "user", "content": "   "}]), 400, "The message is empty"),
        (
            _ok_body(messages=[{"role": "user", "content": "痛" * 3001}]),
            413,
            "3,001 characters, over this server's limit of 3,000",
        ),
        (
            _ok_body(
                messages=[
                    {"role": "user", "content": "痛" * 2900},
                    {"role": "assistant", "content": "好"},
                    {"role": "user", "content": "痛" * 2900},
                ]
            ),
            413,
            "conversation has 5,801 characters",
        ),
        (_ok_body(temperature=5), 400, "Invalid 'temperature'"),
        (_ok_body(top_p=0), 400, "Invalid 'top_p'"),
        (_ok_body(max_tokens=100000), 400, "over this server's limit of 256"),
        (_ok_body(n=3), 400, "Only n=1"),
        (_ok_body(model="gpt-4"), 404, "The model 'gpt-4' does not exist"),
        ({"messages": [{"role": "user", "content": "hi"}]}, 400, "Invalid 'model'"),
    ],
    ids=[
        "role",
        "empty",
        "last-assistant",
        "blank",
        "message-size",
        "conversation-size",
        "temperature",
        "top_p",
        "max_tokens",
        "n",
        "model",
        "no-model",
    ],
)
def test_bad_requests_get_clear_openai_errors(server, body, status, words):
    r = _post(server, body)
    assert r.status_code == status
    error = r.json()["error"]
    assert words in error["message"] and error["type"]


def test_auth_json_and_route_errors(server, client):
    assert _post(server, _ok_body(), key=None).json()["error"]["message"].startswith("Missing API key")
    r = _post(server, _ok_body(), key="wrong")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(server.url + "/v1/models").status_code == 401
    r = _post(server, None, raw=b'{"model": "tiny-med", "messages": [')
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = _post(server, None, raw=b" " * 70_000)
    assert r.status_code == 413 and "over the limit of 60000 bytes" in r.json()["error"]["message"]
    chunked = httpx.post(
        server.url + "/v1/chat/completions",
        content=iter([b" " * 40_000] * 2),
        headers={"Authorization": f"Bearer {KEY}"},
    )  # no Content-Length: counted as read
    assert chunked.status_code == 413
    r = httpx.get(server.url + "/v1/nothing", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and "error" in r.json()
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError) as err:  # over the 300-token input budget
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "头痛" * 700}])
    assert err.value.body["code"] == "context_length_exceeded"
    assert health(server)["status"] == "ok"  # still serving


# ---------------------------------------------------------------------------- safety


def test_emergency_notice_comes_first_and_as_a_structured_field(client, engine):
    decision = safety.check(EMERGENCY)
    assert decision.emergency, "precondition: the safety layer flags this message"
    messages = [{"role": "user", "content": EMERGENCY}]
    reply = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, temperature=0)
    extra = reply.model_extra["medchat"]
    assert extra["safety"] == decision.to_dict() and extra["disclaimer"] == safety.disclaimer(decision.lang)
    assert extra["emergency_notice"] == decision.notice  # structured, for clients that read fields
    prefix = extra["added_text"]["prefix"]
    assert prefix == decision.notice + "\n\n"  # and in the text, for clients that show only text
    assert reply.choices[0].message.content == prefix + engine.chat(messages, greedy(8))
    assert extra["id"].startswith("ans-") and reply.id == "chatcmpl-" + extra["id"][4:]

    stream = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, stream=True)
    chunks = list(stream)
    assert chunks[0].model_extra["medchat"]["emergency_notice"] == decision.notice
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert contents[0] == prefix  # streamed before any model text
    ordinary = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], max_tokens=4
    )
    assert ordinary.model_extra["medchat"]["emergency_notice"] is None
    assert ordinary.model_extra["medchat"]["added_text"] == {"prefix": "", "suffix": ""}


def test_harmful_request_is_refused_without_generation(client, server):
    decision = safety.check(HARMFUL)
    assert decision.refuse and decision.refusal, "precondition: the safety layer refuses this message"
    before = health(server)["finished"].get("content_filter", 0)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": HARMFUL}])
    assert reply.choices[0].finish_reason == "content_filter"
    assert reply.choices[0].message.content == decision.refusal
    assert reply.usage.completion_tokens == 0 and reply.model_extra["medchat"]["safety"]["refuse"] is True
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": HARMFUL}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == decision.refusal
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert health(server)["finished"]["content_filter"] == before + 2


def test_no_refusal_answers_harmful_requests_and_keeps_the_notices(engine):
    with BackgroundServer(build_app(engine, MODEL, refuse_harmful=False)) as srv:
        assert health(srv)["refusal"] is False
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="any", max_retries=0)
        harmful = [{"role": "user", "content": HARMFUL}]
        reply = c.chat.completions.create(model=MODEL, messages=harmful, max_tokens=6, temperature=0)
        assert reply.choices[0].message.content == engine.chat(harmful, greedy(6))  # generated, not refused
        assert reply.model_extra["medchat"]["safety"]["refuse"] is False
        emergency = c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": EMERGENCY}], max_tokens=4
        )
        assert emergency.model_extra["medchat"]["emergency_notice"] == safety.check(EMERGENCY).notice


# ---------------------------------------------------------------------------- grounding


@pytest.fixture(scope="module")
def kb_index(tmp_path_factory):
    from retrieval import SAMPLE_KB
    from retrieval.index import HybridIndex

    folder = tmp_path_factory.mktemp("kb-index")
    HybridIndex.build([SAMPLE_KB], progress=False).save(folder)
    return folder


def test_index_grounds_answers_and_returns_the_sources(tiny_model_dir, kb_index):
    from model.load import load_model
    from retrieval.ground import grounded_messages
    from retrieval.index import HybridIndex

    index = HybridIndex.load(kb_index)
    engine = LocalEngine(load_model(str(tiny_model_dir), device="cpu"))  # room for a grounded prompt
    question = "高血压患者每天吃盐应该少于多少克？"
    messages = [{"role": "user", "content": question}]
    with BackgroundServer(build_app(engine, MODEL, index=index, top_k=2)) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="any", max_retries=0)
        reply = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=4, temperature=0)
        sources = reply.model_extra["medchat"]["sources"]
        hits = index.search(question, k=2)
        assert [s["source"] for s in sources] == [h.source for h in hits] and len(sources) == 2
        assert any("hypertension" in s["source"] for s in sources)
        assert [s["number"] for s in sources] == [1, 2] and all(s["text"] and s["chunk_id"] for s in sources)
        # The model received the grounded prompt: its token count is that prompt's.
        grounded = engine.prepare(grounded_messages(messages, hits), greedy(4))
        assert reply.usage.prompt_tokens == grounded.n_tokens > engine.prepare(messages, greedy(4)).n_tokens
        streamed = list(c.chat.completions.create(model=MODEL, messages=messages, max_tokens=2, stream=True))
        assert streamed[0].model_extra["medchat"]["sources"] == sources
        plain = c.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=2, extra_body={"top_k": 0}
        )
        assert plain.model_extra["medchat"]["sources"] == []
        assert health(srv)["index_chunks"] == len(index)


def test_top_k_without_an_index_is_a_clear_error(server):
    r = _post(server, _ok_body(top_k=2))
    assert r.status_code == 400 and "no document index" in r.json()["error"]["message"]


# ---------------------------------------------------------------------------- limits


def test_client_disconnect_cancels_generation(server, long_run):
    messages, _ = long_run
    before = health(server)["finished"].get("cancelled", 0)
    body = {"model": MODEL, "messages": messages, "max_tokens": LONG, "temperature": 0, "stream": True}
    with httpx.stream(
        "POST", server.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    ) as r:
        for line in r.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                break  # the first piece of text arrived: hang up
    wait_for(lambda: health(server)["finished"].get("cancelled", 0) == before + 1)
    wait_for(lambda: health(server)["in_flight"] == 0)


def test_full_server_queues_then_answers_429(engine, long_run):
    messages, _ = long_run
    app = build_app(engine, MODEL, limits=ServingLimits(**LIMITS, max_concurrent=1, max_queue=1))
    with BackgroundServer(app) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        holder = c.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=LONG, temperature=0, stream=True
        )
        next(iter(holder))  # generating: the one slot is taken
        queued = {}
        t = threading.Thread(
            target=lambda: queued.update(
                r=c.chat.completions.create(model=MODEL, messages=messages, max_tokens=2)
            )
        )
        t.start()
        wait_for(lambda: health(srv)["queued"] == 1)
        with pytest.raises(openai.RateLimitError) as err:
            c.chat.completions.create(model=MODEL, messages=messages, max_tokens=2)
        assert err.value.response.headers["retry-after"] == "1"
        assert "busy" in err.value.body["message"]
        holder.close()  # hang up: the queued request gets the slot
        t.join(timeout=30)
        assert queued["r"].choices[0].message.content is not None
        wait_for(lambda: health(srv)["in_flight"] == 0)


def test_generation_timeout_ends_reply(engine, long_run):
    messages, seconds = long_run
    limit = min(0.2, seconds / 4)  # well under the time the full reply takes
    app = build_app(engine, MODEL, limits=ServingLimits(**{**LIMITS, "timeout_s": limit}))
    with BackgroundServer(app) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        reply = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=LONG, temperature=0)
    assert reply.choices[0].finish_reason == "length"
    assert reply.model_extra["medchat"]["finish_reason"] == "timeout"
    assert reply.usage.completion_tokens < LONG


# ---------------------------------------------------------------------------- OpenAIEngine


def test_openai_engine_matches_local_engine(server, engine):
    remote = OpenAIEngine(server.url + "/v1", MODEL, api_key=KEY, max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]
    prompt, stream = remote.stream_chat(messages, greedy(16))
    pieces = list(stream)
    assert "".join(pieces) == engine.chat(messages, greedy(16)) == remote.chat(messages, greedy(16))
    assert prompt.messages == messages and stream.finish_reason in ("stop", "length")
    assert stream.completion_tokens > 0 and stream.time_to_first_token is not None
    assert stream.medchat["disclaimer"] == safety.disclaimer("zh")
    batch = remote.chat_batch(
        [messages, [{"role": "user", "content": "发烧怎么办？"}]],
        GenerationSettings(max_new_tokens=4, temperature=1.0),
        n=2,
    )
    assert [len(b) for b in batch] == [2, 2] and all(isinstance(s, str) for b in batch for s in b)
    assert remote.describe().startswith(MODEL)


def test_openai_engine_takes_the_server_notice_off_the_reply(server, engine):
    decision = safety.check(EMERGENCY)
    assert decision.emergency, "precondition: the safety layer flags this message"
    remote = OpenAIEngine(server.url + "/v1", MODEL, api_key=KEY, max_retries=0)
    messages = [{"role": "user", "content": EMERGENCY}]
    _, stream = remote.stream_chat(messages, greedy(8))
    text = stream.text()
    assert text == engine.chat(messages, greedy(8)) == remote.chat(messages, greedy(8))
    assert decision.notice not in text
    assert stream.server_notice == decision.notice and stream.medchat["safety"]["emergency"] is True
    _, ordinary = remote.stream_chat([{"role": "user", "content": QUESTION}], greedy(4))
    ordinary.text()
    assert ordinary.server_notice is None


def _contract_server():
    """A minimal endpoint speaking our wire format whose replies the tests choose (the real server
    always sends its prefix whole and truthfully, so the client's edge cases need this one)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    cases = {  # message -> (what the server reports adding, the content pieces it sends)
        "split": ("🚨 Call 120.\n\n", ["🚨 Call", " 120.\n", "\nhello", " there"]),
        "unreported": ("", ["🚨 Call 120.\n\nhello"]),
        "lying": ("🚨 Call 120.\n\n", ["hello"]),
    }
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        prefix, pieces = cases[body["messages"][-1]["content"]]
        medchat = {"added_text": {"prefix": prefix}, "emergency_notice": prefix.strip() or None}
        head = {"id": "chatcmpl-x", "created": 0, "model": "stub"}
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(pieces)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return JSONResponse(
                {**head, "object": "chat.completion", "choices": [choice], "medchat": medchat}
            )

        def events():
            def chunk(delta, finish=None, **more):
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                return (
                    "data: "
                    + json.dumps({**head, "object": "chat.completion.chunk", "choices": [choice], **more})
                    + "\n\n"
                )

            yield chunk({"role": "assistant", "content": ""}, medchat=medchat)
            for piece in pieces:
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return BackgroundServer(app)


def test_client_removes_exactly_what_the_server_reports_adding():
    with _contract_server() as srv:
        remote = OpenAIEngine(srv.url + "/v1", "stub", max_retries=0)
        ask = lambda text: [{"role": "user", "content": text}]  # noqa: E731
        _, stream = remote.stream_chat(ask("split"), greedy(8))
        assert stream.text() == "hello there"  # the prefix came in three pieces; all of it went, no more
        assert (
            stream.server_notice == "🚨 Call 120." and remote.chat(ask("split"), greedy(8)) == "hello there"
        )
        # Text that looks like a notice but that the server did not report adding stays: no pattern matching.
        _, stream = remote.stream_chat(ask("unreported"), greedy(8))
        assert stream.text() == "🚨 Call 120.\n\nhello" and stream.server_notice is None
        assert remote.chat(ask("unreported"), greedy(8)) == "🚨 Call 120.\n\nhello"
        # A server that reports a prefix it did not send breaks the contract: an error, not a guess.
        with pytest.raises(RemoteError, match="reported adding"):
            remote.stream_chat(ask("lying"), greedy(8))[1].text()
        with pytest.raises(RemoteError, match="reported adding"):
            remote.chat(ask("lying"), greedy(8))


def test_openai_engine_errors_and_cancel(server, long_run):
    remote = OpenAIEngine(server.url + "/v1", MODEL, api_key=KEY, max_retries=0)
    with pytest.raises(PromptTooLong, match="too long"):
        remote.stream_chat([{"role": "user", "content": "头痛" * 700}], greedy(4))
    with pytest.raises(RemoteError, match="HTTP 401"):
        OpenAIEngine(server.url + "/v1", MODEL, api_key="bad", max_retries=0).chat(
            [{"role": "user", "content": "hi"}], greedy(4)
        )
    with pytest.raises(RemoteError, match="cannot reach"):
        OpenAIEngine("http://127.0.0.1:9/v1", MODEL, max_retries=0).chat(
            [{"role": "user", "content": "hi"}], greedy(4)
        )

    messages, _ = long_run
    before = health(server)["finished"].get("cancelled", 0)
    cancel = threading.Event()
    _, stream = remote.stream_chat(messages, greedy(LONG), cancel=cancel)
    got = []
    for piece in stream:
        got.append(piece)
        cancel.set()
    assert stream.finish_reason == "cancelled" and len(got) < 50
    wait_for(lambda: health(server)["finished"].get("cancelled", 0) == before + 1)


def test_cli_serves_the_model(tiny_model_dir):
    """`python -m model.server` as users run it: a subprocess on a free port."""
    import socket
    import subprocess
    import sys

    from conftest import REPO

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "model.server", "--model", str(tiny_model_dir), "--device", "cpu",
           "--port", str(port), "--server-api-key", KEY, "--served-model-name", "cli-tiny"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"

        def up():
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                return httpx.get(url + "/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout=60)
        c = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
        reply = c.chat.completions.create(
            model="cli-tiny", messages=[{"role": "user", "content": QUESTION}], max_tokens=4
        )
        assert reply.usage.completion_tokens > 0 and reply.model_extra["medchat"]["safety"] is not None
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_app_and_the_server_share_limits_model_flags_and_the_refusal_switch():
    import app
    from model.limits import limits_from_args
    from model.server import build_parser

    parser = build_parser()
    assert limits_from_args(parser.parse_args(["--model", "x"])) == app.parse_args([], environ={}).limits
    assert app.parse_args([], environ={}).limits == ServingLimits()  # one place for the defaults
    flags = [
        "--max-concurrent",
        "3",
        "--max-queue",
        "5",
        "--max-conversation-chars",
        "999",
        "--generation-timeout",
        "7",
    ]
    served = limits_from_args(parser.parse_args(["--model", "x", *flags]))
    assert served == app.parse_args(flags, environ={}).limits
    assert (served.max_concurrent, served.max_queue, served.timeout_s) == (3, 5, 7.0)
    shared = {
        "--model",
        "--base-url",
        "--api-model",
        "--adapter",
        "--quant",
        "--chat-template",
        "--no-refusal",
        "--index",
    }
    for options in (parser._option_string_actions, app.build_parser()._option_string_actions):
        assert shared <= set(options)


def _raw(messages: str, extra: str = "", model: str = '"tiny-med"') -> bytes:
    return f'{{"model": {model}, "max_tokens": 4, "messages": {messages}{extra}}}'.encode()


USER = '[{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    "raw, param, words",
    [
        (_raw(USER, ', "x": ' + "[" * 20_000 + "]" * 20_000), None, "nested more than 32 levels deep"),
        (_raw(USER, ', "x": ' + "[" * 40 + "]" * 40), None, "nested more than 32 levels deep (at 'x"),
        (
            _raw('[{"role": "user", "content": "\\ud800 hi"}]'),
            "messages.0.content",
            "lone surrogate (U+D800)",
        ),
        (_raw(USER, model='"tiny\\udfff"'), "model", "'model' is not valid Unicode text"),
        (_raw('[{"role": "\\ud83d", "content": "hi"}]'), "messages.0.role", "lone surrogate (U+D83D)"),
        (
            _raw(
                '[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "\\udc00"}, '
                '{"role": "user", "content": "again"}]'
            ),
            "messages.1.content",
            "not valid Unicode text",
        ),  # fmt: skip
        (_raw(USER, ', "temperature": 1e-300'), None, "temperature must be 0 (greedy) or at least 0.01"),
        (_raw(USER, ', "temperature": NaN'), None, "NaN is not a number JSON allows"),
        (_raw(USER, ', "repetition_penalty": 1e999'), "repetition_penalty", "finite number"),
        (
            _raw('[{"role": "user", "content": "\\u200b\\u200c\\u200d\\ufeff "}]'),
            None,
            "The message is empty",
        ),
    ],
    ids=[
        "deep",
        "nested-40",
        "surrogate",
        "surrogate-model",
        "surrogate-role",
        "surrogate-assistant",
        "tiny-temperature",
        "nan",
        "infinite-penalty",
        "zero-width",
    ],  # fmt: skip
)
def test_hostile_bodies_get_openai_json_4xx_and_the_server_keeps_serving(server, raw, param, words):
    r = _post(server, None, raw=raw)
    assert r.status_code == 400 and r.headers["content-type"] == "application/json", r.text
    error = r.json()["error"]
    assert words in error["message"] and error["type"] == "invalid_request_error"
    if param:
        assert error["param"] == param
    assert health(server)["status"] == "ok"


def test_health_names_the_model_without_its_path(engine):
    from pathlib import Path

    path = engine.name  # the tiny model's folder on this machine
    with BackgroundServer(build_app(engine, api_key=KEY)) as srv:
        response = httpx.get(srv.url + "/health")
        assert response.json()["model"] == Path(path).name and path not in response.text
        listed = httpx.get(srv.url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
        assert [m["id"] for m in listed["data"]] == [path]  # the exact id, for those holding the key
