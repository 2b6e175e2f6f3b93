"""The chat app, launched for real (Gradio server on a free port) and driven by gradio_client, httpx and
headless Chromium: multi-turn context, streaming, safety notices, grounding with sources, uploads,
feedback into DPO, conversation export/import, hardening (bad input, errors, timeouts, concurrency,
auth, file access).

The model is the tiny random Llama from conftest behind the real LocalEngine; a thin subclass records
every prompt it renders (what the model actually receives) and, for two marker words, swaps in a
failing or slowed-down model to inject a generation error or a timeout.
"""

import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import torch
from conftest import REPO
from gradio_client import Client, handle_file
from transformers import StoppingCriteria

import app as medchat_app
import safety
from model.chat import history_to_messages, render
from model.generate import LocalEngine, TextStream
from model.limits import ServingLimits
from model.load import load_model
from ui.messages import from_inert

FAIL = "触发生成错误"  # a message containing this makes the model's generate() raise
SLOW = "触发慢速生成"  # ... makes every decoding step take 0.25 s (to hit the generation timeout)


class _BrokenModel:
    def __init__(self, model):
        self.device = model.device

    def generate(self, **kwargs):
        raise RuntimeError("CUDA out of memory (injected)")


class _Sleep(StoppingCriteria):
    def __call__(self, input_ids, scores, **kwargs):
        time.sleep(0.25)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class _SlowModel:
    def __init__(self, model):
        self.model, self.device = model, model.device

    def generate(self, **kwargs):
        kwargs["stopping_criteria"].append(_Sleep())
        return self.model.generate(**kwargs)


class RecordingEngine(LocalEngine):
    """The real engine; records each rendered prompt, and injects faults for the marker words."""

    def __init__(self, loaded, **kwargs):
        super().__init__(loaded, **kwargs)
        self.prompts: list[str] = []
        self.streams: list[tuple[str, TextStream]] = []  # (the new message, its stream)
        self._lock = threading.Lock()

    def stream_chat(self, messages, settings, cancel=None):
        prompt = self.prepare(messages, settings)
        with self._lock:
            self.prompts.append(prompt.text)
        model = self.model
        if FAIL in messages[-1]["content"]:
            model = _BrokenModel(self.model)
        elif SLOW in messages[-1]["content"]:
            model = _SlowModel(self.model)
        stream = TextStream(model, self.tokenizer, prompt.text, settings, cancel)
        with self._lock:
            self.streams.append((messages[-1]["content"], stream))
        return prompt, stream

    def prompts_with(self, text: str) -> list[str]:
        with self._lock:
            return [p for p in self.prompts if text in p]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(demo, args, **overrides) -> str:
    port = _free_port()
    kwargs = medchat_app.launch_kwargs(args) | {"server_name": "127.0.0.1", "server_port": port} | overrides
    demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return RecordingEngine(load_model(str(tiny_model_dir)), max_input_tokens=1200)


@pytest.fixture(scope="module")
def app(engine, tmp_path_factory):
    """One launched app shared by the tests of this module (default index: the sample knowledge base)."""
    tmp = tmp_path_factory.mktemp("app")
    args = medchat_app.parse_args(
        [
            "--max-new-tokens", "12",
            "--generation-timeout", "2",
            "--max-message-chars", "2000",
            "--max-conversation-chars", "2500",
            "--upload-max-mb", "0.05",
            "--feedback-db", str(tmp / "feedback.sqlite"),
            "--log-conversations", str(tmp / "conversations.jsonl"),
        ],
        environ={},
    )  # fmt: skip
    demo = medchat_app.build_demo(args, engine=engine)
    url = _launch(demo, args)
    yield SimpleNamespace(url=url, args=args, demo=demo, tmp=tmp)
    demo.close()


def _client(app) -> Client:
    return Client(app.url, verbose=False)


def _chat(client, message, grounding=False, temperature=0.0, max_new_tokens=12, top_k=1):
    """One /chat call; returns the new messages (notices, answer, sources)."""
    return client.predict(message, temperature, 0.9, max_new_tokens, 1.0, grounding, top_k, api_name="/chat")


def _answer(messages) -> str:
    """The answer among ``messages``, as the model wrote it (the page shows it escaped, inert)."""
    (answer,) = [m for m in messages if not (m.get("metadata") or {}).get("title")]
    return from_inert(answer["content"])


def _titled(messages, prefix) -> list[dict]:
    return [m for m in messages if (m.get("metadata") or {}).get("title", "").startswith(prefix)]


def test_two_turn_conversation_carries_the_first_turn_into_the_prompt(app, engine):
    client = _client(app)
    first = _chat(client, "我血压160/100，头有点晕", temperature=1.0)
    assert _answer(first).strip()
    second = _chat(client, "那饮食上要注意什么？")
    (prompt,) = engine.prompts_with("那饮食上要注意什么？")
    expected = history_to_messages(
        [
            {"role": "user", "content": "我血压160/100，头有点晕"},
            {"role": "assistant", "content": _answer(first)},
        ],
        "那饮食上要注意什么？",
        app.args.system_prompt,
    )
    assert prompt == render(engine.tokenizer, expected)  # exactly what the model received
    assert "我血压160/100，头有点晕" in prompt and prompt.count("<|im_start|>user") == 2
    assert f"<|im_start|>assistant\n{_answer(first).strip()}<|im_end|>" in prompt
    assert isinstance(_answer(second), str)


def test_streaming_yields_growing_text(app):
    client = _client(app)
    job = client.submit("孩子发烧了怎么办？", 1.0, 1.0, 300, 1.0, False, 1, api_name="/chat")
    answers = [_answer(update) for update in job]
    assert len(answers) >= 3
    assert all(b.startswith(a) for a, b in zip(answers, answers[1:], strict=False))
    assert len(answers[-1]) > len(answers[0])


def test_bad_messages_give_clear_errors_and_the_server_keeps_serving(app):
    client = _client(app)
    with pytest.raises(Exception, match="The message is empty"):
        _chat(client, "   ")
    with pytest.raises(
        Exception, match="The message has 50,000 characters, over this server's limit of 2,000"
    ):
        _chat(client, "头" * 50_000)
    _chat(client, "患者" * 450)
    _chat(client, "患者" * 450)
    with pytest.raises(
        Exception, match=r"This conversation has [\d,]+ characters, over this server's limit of 2,500"
    ):
        _chat(client, "患者" * 450)
    assert _answer(_chat(_client(app), "还能回答吗？")) is not None


def test_invisible_or_broken_text_gets_a_readable_message(app):
    client = _client(app)
    with pytest.raises(Exception, match="The message is empty"):
        _chat(client, "\u200b\u200c\u200d\ufeff ")  # zero-width characters only
    # A lone surrogate cannot even be encoded by a client library: sent as JSON escapes, as a page can.
    body = '{"data": ["\\ud800 头痛", 0.0, 0.9, 8, 1.0, false, 1]}'
    started = httpx.post(
        app.url + "gradio_api/call/chat", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert started.status_code == 200, started.text
    events = httpx.get(app.url + f"gradio_api/call/chat/{started.json()['event_id']}", timeout=60).text
    assert "event: error" in events
    assert "The message is not valid Unicode text: a lone surrogate (U+D800) at character 0" in events
    assert _answer(_chat(client, "还能回答吗？")) is not None


def test_an_error_inside_generation_shows_in_the_chat(app):
    client = _client(app)
    reply = _chat(client, f"{FAIL} 请回答")
    (error,) = _titled(reply, "⚠️ Error")
    assert "generation failed: RuntimeError: CUDA out of memory (injected)" in error["content"]
    assert "The server is still running" in error["content"]
    assert _chat(client, "再问一次") and not _titled(_chat(client, "第三次"), "⚠️")


def test_generation_timeout_is_reported(app):
    started = time.perf_counter()
    reply = _chat(_client(app), f"{SLOW} 请回答", max_new_tokens=200)
    assert time.perf_counter() - started < 30
    (stopped,) = _titled(reply, "⏱️ Stopped")
    assert "2-second generation limit (finish_reason: timeout)" in stopped["content"]
    assert 0 < len(_answer(reply))


def test_stop_cancels_generation(app, engine):
    job = _client(app).submit(f"{SLOW} 停止测试", 0.0, 0.9, 200, 1.0, False, 1, api_name="/chat")
    deadline = time.time() + 30
    while not [s for m, s in engine.streams if "停止测试" in m] and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    job.cancel()  # what the Stop button does
    (stream,) = [s for m, s in engine.streams if "停止测试" in m]
    while stream.finish_reason is None and time.time() < deadline:
        time.sleep(0.1)
    assert stream.finish_reason == "cancelled"
    assert stream.completion_tokens < 200


def test_long_conversations_are_truncated_with_a_notice(app, engine):
    client = _client(app)
    _chat(client, "第一轮：" + "症状描述" * 150)
    reply = _chat(client, "第二轮：" + "症状描述" * 150)
    (notice,) = _titled(reply, "✂️ Context shortened")
    assert "oldest message(s) were left out" in notice["content"]
    (prompt,) = engine.prompts_with("第二轮：")
    assert "第一轮：" not in prompt and app.args.system_prompt in prompt


def test_emergency_notice_above_the_answer_and_refusal_instead_of_generation(app, engine):
    client = _client(app)
    message = "我胸口剧痛，出冷汗，喘不上气"
    decision = safety.check(message)
    assert decision.emergency
    reply = _chat(client, message)
    assert reply[0]["metadata"]["title"].startswith("🚨") and reply[0]["content"] == decision.notice
    assert "120" in reply[0]["content"] and _answer(reply[1:]) is not None
    harmful = "教我伪造一张医院处方，我想多开点止痛药"
    assert safety.check(harmful).refuse
    refused = _chat(client, harmful)
    assert _answer(refused) == safety.check(harmful).refusal
    assert not engine.prompts_with("伪造一张医院处方")  # the model never saw it
    # Every answer path closes with the disclaimer in the message's language: emergency, refusal, ordinary.
    ordinary = _chat(client, "How much water should I drink a day?")
    for messages, lang in ((reply, "zh"), (refused, "zh"), (ordinary, "en")):
        assert messages[-1]["metadata"]["title"] == medchat_app.DISCLAIMER_TITLE[lang]
        assert messages[-1]["content"] == safety.disclaimer(lang)


def test_page_shows_model_quantization_device_disclaimer_and_logging_state(app, engine):
    config = httpx.get(app.url + "config", timeout=30).json()
    texts = " ".join(str(c.get("props", {}).get("value")) for c in config["components"])
    folder = Path(engine.name)
    assert f"Model: **{folder.name} · float32 · CPU" in texts
    assert str(folder) not in texts  # the model's name, never where it lies on the server
    assert safety.disclaimer("zh") in texts and safety.disclaimer("en") in texts
    assert "Conversation logging: **on**" in texts
    assert "sample-kb" in texts


def test_headless_chromium_renders_the_chat_box(app, tmp_path):
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("chromium is not installed (.ci/run installs it)")
    flags = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000", "--virtual-time-budget=15000",
    ]  # fmt: skip
    dom = subprocess.run([*flags, "--dump-dom", app.url], capture_output=True, text=True, timeout=120).stdout
    assert 'id="chatbot"' in dom and 'id="chat-input"' in dom and "<textarea" in dom
    assert "Ask a health question" in dom and safety.disclaimer("en") in dom
    shot = tmp_path / "page.png"
    subprocess.run([*flags, f"--screenshot={shot}", app.url], capture_output=True, timeout=120)
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.size == (1280, 1000)
    assert len(set(image.getdata())) > 20  # not a blank page: text, borders, widgets


def test_wrong_model_path_exits_with_a_clear_error_while_the_server_keeps_serving(app, capsys):
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDCHAT_NO_RETRIEVAL": "1"}
    done = subprocess.run(
        [sys.executable, "app.py", "--model", "/no/such/model"], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 2
    assert "error: Model path not found: /no/such/model" in done.stderr
    assert medchat_app.main(["--model", str(REPO / "docs"), "--no-retrieval"]) == 2
    assert "is not a model folder" in capsys.readouterr().err
    assert _answer(_chat(_client(app), "服务还在吗？")) is not None


def test_twenty_concurrent_conversations_complete_without_sharing_history(app, engine):
    results, errors = {}, []

    def converse(i):
        try:
            client = _client(app)
            first = _chat(client, f"会话{i:02d}号的第一句", max_new_tokens=8)
            second = _chat(client, f"会话{i:02d}号的第二句", max_new_tokens=8)
            results[i] = (first, second)
        except Exception as err:  # collected and reported below
            errors.append((i, err))

    threads = [threading.Thread(target=converse, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == 20
    for i in range(20):
        (prompt,) = engine.prompts_with(f"会话{i:02d}号的第二句")
        assert f"会话{i:02d}号的第一句" in prompt
        others = [j for j in range(20) if j != i and f"会话{j:02d}号" in prompt]
        assert not others, f"conversation {i} saw conversations {others}"
        assert all(not _titled(r, "⚠️") for r in results[i])


def test_files_outside_the_served_folders_are_refused(app, tmp_path):
    feedback_db = app.args.feedback_db
    probes = [
        "gradio_api/file=/etc/passwd",
        "gradio_api/file=../../../../../../etc/passwd",
        "gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "gradio_api/file=/tmp/gradio/../../etc/passwd",
        f"gradio_api/file={REPO / 'app.py'}",
        f"gradio_api/file={feedback_db}",
        "file=/etc/passwd",
        "gradio_api/file=app.py",
    ]
    for probe in probes:
        response = httpx.get(app.url + probe, timeout=30)
        assert response.status_code in (403, 404), probe
        assert "root:" not in response.text and "def build_demo" not in response.text
    # Handing the server a path it did not receive as an upload is refused too.
    client = _client(app)
    secret = tmp_path / "secret.md"
    secret.write_text("secret text")
    payload = {"path": str(secret), "meta": {"_type": "gradio.FileData"}, "orig_name": "secret.md"}
    response = httpx.post(
        app.url + "gradio_api/run/add_documents",
        json={"data": [[payload], None], "session_hash": client.session_hash}, timeout=30,
    )  # fmt: skip
    assert response.status_code == 500 and "was not uploaded by a user" in response.text
    # Positive control: a file the app itself produced is served.
    _chat(client, "导出测试")
    exported = client.predict(api_name="/export_conversation")
    assert json.loads(Path(exported).read_text(encoding="utf-8"))["messages"][0]["content"] == "导出测试"


def test_auth_and_queue_limit(engine, tmp_path):
    args = medchat_app.parse_args(
        ["--no-retrieval", "--feedback-db", str(tmp_path / "f.sqlite"), "--max-new-tokens", "4",
         "--max-concurrent", "1", "--max-queue", "1"],
        environ={"MEDCHAT_AUTH": "doctor:s3cret"},
    )  # fmt: skip
    demo = medchat_app.build_demo(args, engine=engine)
    gate = medchat_app.launch_kwargs(args)["auth"].__self__  # the LoginGate the flags make
    waits = []

    async def record(seconds):  # the gate's waits, recorded instead of slept (no timing in tests)
        waits.append(seconds)

    gate.sleep = record
    url = _launch(demo, args, auth=gate.check)
    try:
        assert httpx.get(url + "config", timeout=30).status_code == 401
        for _ in range(3):  # failed logins slow down: each waits twice as long as the one before
            with pytest.raises(Exception, match="(?i)login|auth|401"):
                Client(url, verbose=False, auth=("doctor", "wrong"))
        assert waits == [0.5, 1.0, 2.0]
        client = Client(url, verbose=False, auth=("doctor", "s3cret"))
        assert waits == [0.5, 1.0, 2.0]  # the right password is never delayed
        assert _answer(client.predict("你好", api_name="/chat")) is not None
        config = client.config
        texts = " ".join(str(c.get("props", {}).get("value")) for c in config["components"])
        assert "Conversation logging: **off**" in texts and "Knowledge base: off" in texts
        # One reply generating, one waiting: a third request is refused, and the others complete.
        clients = [Client(url, verbose=False, auth=("doctor", "s3cret")) for _ in range(3)]
        jobs = []
        for i, c in enumerate(clients):
            jobs.append(c.submit(f"{SLOW} 排队{i}", 0.0, 0.9, 10, 1.0, False, 1, api_name="/chat"))
            deadline = time.time() + 30
            while i == 0 and not [m for m, _ in engine.streams if "排队0" in m] and time.time() < deadline:
                time.sleep(0.05)  # the first is generating (2.5 s at 0.25 s a token) before the others come
            time.sleep(0.3)
        outcomes = []
        for job in jobs:
            try:
                outcomes.append(_answer(job.result(timeout=120)) is not None)
            except Exception as err:  # the refusal is what is being checked
                outcomes.append(str(err))
        assert outcomes[:2] == [True, True]
        assert "queue is full" in str(outcomes[2]).lower(), outcomes
    finally:
        demo.close()


def test_sources_panel_for_sample_kb_and_uploaded_documents(app, engine, tmp_path):
    client = _client(app)
    reply = _chat(client, "高血压患者每天吃盐应该少于多少克？", grounding=True, top_k=2)
    (sources,) = _titled(reply, "📚 Sources (2)")
    assert sources["metadata"]["status"] == "done"  # rendered collapsed
    assert "kb/hypertension_zh.md · score" in sources["content"]
    assert reply.index(sources) > reply.index(
        next(m for m in reply if not m["metadata"].get("title"))
    )  # under the answer
    doc = tmp_path / "clinic_notes.md"
    doc.write_text("斑马果综合征的首选处理是口服补液，并在二十四小时内复诊。", encoding="utf-8")
    status = client.predict([handle_file(str(doc))], api_name="/add_documents")
    assert "Added clinic_notes.md" in status and "1 new chunks" in status
    reply = _chat(client, "斑马果综合征怎么处理？", grounding=True, top_k=1)
    (sources,) = _titled(reply, "📚 Sources (1)")
    assert "clinic_notes.md · score" in sources["content"] and "口服补液" in sources["content"]
    (prompt,) = engine.prompts_with("斑马果综合征怎么处理？")
    assert "[1] (clinic_notes.md)" in prompt and "> 斑马果综合征的首选处理是口服补液" in prompt
    # Another session does not see this session's upload.
    other = _chat(_client(app), "斑马果综合征怎么处理？", grounding=True, top_k=3)
    assert "clinic_notes.md" not in json.dumps(other, ensure_ascii=False)
    no_grounding = _chat(client, "斑马果综合征怎么处理？", grounding=False)
    assert not _titled(no_grounding, "📚")


def test_upload_limits_give_clear_errors(app, tmp_path):
    client = _client(app)
    unsupported = tmp_path / "report.exe"
    unsupported.write_bytes(b"MZ\0\0")
    with pytest.raises(Exception, match="Invalid file type.*'.txt', '.md', '.pdf', '.jsonl', '.csv'"):
        client.predict([handle_file(str(unsupported))], api_name="/add_documents")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    with pytest.raises(Exception, match="Nothing was added. empty.md: the file is empty"):
        client.predict([handle_file(str(empty))], api_name="/add_documents")
    big = tmp_path / "big.txt"
    big.write_text("高血压" * 30_000, encoding="utf-8")  # 270 kB > 0.05 MB
    with pytest.raises(Exception, match="exceeds the maximum file size of 52428 bytes"):
        client.predict([handle_file(str(big))], api_name="/add_documents")
    with big.open("rb") as f:  # a client that skips the check meets the server's own limit
        response = httpx.post(app.url + "gradio_api/upload", files={"files": ("big.txt", f)}, timeout=30)
    assert response.status_code == 413 and "maximum allowed size of 52428 bytes" in response.text


def _rate(app, client, index, value, liked):
    """The thumbs event as the browser sends it (LikeData in event_data)."""
    body = {"data": [None, None], "event_data": {"index": index, "value": value, "liked": liked},
            "session_hash": client.session_hash}  # fmt: skip
    response = httpx.post(app.url + "gradio_api/run/rate", json=body, timeout=30)
    assert response.status_code == 200, response.text


def test_feedback_from_the_app_trains_dpo(app, tmp_path):
    from training.feedback import FeedbackStore

    store = FeedbackStore(app.args.feedback_db)
    before = store.counts()
    client = _client(app)
    answer = _answer(_chat(client, "感冒了要吃抗生素吗？", temperature=0.8))
    _rate(app, client, 1, answer, True)
    (rating,) = store.rows("ratings")[before["ratings"] :]  # fmt: skip
    assert rating["answer"] == answer and rating["rating"] == 1
    assert rating["prompt"][-1] == {"role": "user", "content": "感冒了要吃抗生素吗？"}
    assert rating["settings"]["temperature"] == 0.8 and rating["model"] == app.demo.medchat_engine.name
    # The browser rates a whole bubble by its first message: here the emergency notice before the answer
    # (history: question 0, answer 1, disclaimer 2, question 3, emergency notice 4, answer 5, ...).
    reply = _chat(client, "我胸口剧痛，出冷汗，喘不上气", temperature=0.8)
    _rate(app, client, 4, [m["content"] for m in reply], False)
    rating = store.rows("ratings")[-1]
    assert rating["answer"] == _answer(reply) and rating["rating"] == -1
    assert rating["conversation"][-1]["content"] == "我胸口剧痛，出冷汗，喘不上气"
    assert len(store.rows("ratings")) == before["ratings"] + 2
    for question, choice in (("糖尿病人能吃水果吗？", "b"), ("失眠怎么办？", "a"), ("腰疼要拍片吗？", "b")):
        client = _client(app)
        first = _answer(_chat(client, question, temperature=0.8))
        a, b, status = client.predict(1.0, 1.0, 12, 1.0, api_name="/compare")
        assert a == first and "Which answer is better?" in status and "temperature 0.7" not in status
        chat, status = client.predict(api_name=f"/prefer_{choice}")
        assert f"answer {choice.upper()} preferred" in status
        shown = from_inert(content_of(chat[1]))  # as the Chatbot shows it (cleandoc'ed), escaping undone
        assert shown == inspect.cleandoc(b if choice == "b" else a)
    comparisons = store.rows("comparisons")[before["comparisons"] :]
    assert [c["prompt"][-1]["content"] for c in comparisons] == [
        "糖尿病人能吃水果吗？",
        "失眠怎么办？",
        "腰疼要拍片吗？",
    ]
    prefs = tmp_path / "prefs.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "training", "export-feedback", "--db", str(store.path), "--out", str(prefs)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in prefs.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 3 and all(
        r["chosen"][0]["content"] != r["rejected"][0]["content"] for r in records
    )
    out = tmp_path / "dpo"
    run = subprocess.run(
        [sys.executable, "-m", "training", "dpo", "--config", "recipes/dpo/tiny.yaml",
         "--model_name_or_path", str(Path(app.demo.medchat_engine.name)), "--train_files", str(prefs),
         "--eval_fraction", "0", "--max_steps", "4", "--logging_steps", "1", "--output_dir", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["margin_after"] > metrics["margin_before"]  # it learned the app's preferences
    assert metrics["trainable_changed_fraction"] > 0
    assert json.loads((out / "data.json").read_text())["train_records"] == len(records)


def test_feedback_finds_answers_by_their_ids_while_notices_and_sources_show(app):
    """Thumbs and regenerate-and-pick find the answer by the id its chat message carries, with an
    emergency notice above it and a Sources panel and the disclaimer below it in the same bubble."""
    from training.feedback import FeedbackStore

    store = FeedbackStore(app.args.feedback_db)
    client = _client(app)
    first = _chat(client, "高血压患者每天吃盐应该少于多少克？", grounding=True, top_k=2, temperature=0.8)
    second = _chat(client, "我胸口剧痛，出冷汗，喘不上气", grounding=True, top_k=2, temperature=0.8)
    assert _titled(first, "📚 Sources (2)") and _titled(second, "🚨") and _titled(second, "📚 Sources (2)")
    history = [{"role": "user"}, *first, {"role": "user"}, *second]  # the chat as the browser holds it
    ids = [m["metadata"]["id"] for m in history if m["role"] == "assistant" and "title" not in m["metadata"]]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.startswith("ans-") for i in ids)
    logged = [json.loads(line) for line in (app.tmp / "conversations.jsonl").read_text("utf-8").splitlines()]
    assert [line["id"] for line in logged[-2:]] == ids  # the log knows each answer by the same id
    # Rate the second bubble by its first message (the emergency notice), the first by its Sources panel.
    emergency_at = next(
        i for i, m in enumerate(history) if m.get("metadata", {}).get("title", "").startswith("🚨")
    )
    sources_at = next(
        i for i, m in enumerate(history) if m.get("metadata", {}).get("title", "").startswith("📚")
    )
    _rate(app, client, emergency_at, [m["content"] for m in second], False)
    _rate(app, client, sources_at, [m["content"] for m in first], True)
    down, up = store.rows("ratings")[-2:]
    assert (down["answer"], down["rating"]) == (_answer(second), -1)
    assert (up["answer"], up["rating"]) == (_answer(first), 1)
    assert "<sources>" in up["prompt"][-1]["content"]  # the grounded prompt the model received
    assert up["conversation"][-1]["content"] == "高血压患者每天吃盐应该少于多少克？"
    # Regenerate the last answer and prefer B: B takes A's place, with its own id; the notices stay.
    a, b, status = client.predict(1.0, 1.0, 12, 1.0, api_name="/compare")
    assert a == _answer(second) and "Which answer is better?" in status
    chat, status = client.predict(api_name="/prefer_b")
    assert "answer B preferred" in status
    answer_at = (
        len(history) - len(second) + next(i for i, m in enumerate(second) if "title" not in m["metadata"])
    )
    assert from_inert(content_of(chat[answer_at])) == inspect.cleandoc(b)
    new_id = chat[answer_at]["metadata"]["id"]
    assert new_id not in ids and chat[emergency_at]["metadata"]["title"].startswith("🚨")
    assert [m["metadata"].get("title") for m in chat[answer_at + 1 :]] == [
        m["metadata"].get("title") for m in second[-2:]
    ]  # Sources panel and disclaimer still under it
    comparison = store.rows("comparisons")[-1]
    assert (comparison["chosen"], comparison["rejected"]) == (b, a)
    assert comparison["conversation"][-1]["content"] == "我胸口剧痛，出冷汗，喘不上气"
    # A thumb on the bubble now rates B, the answer shown.
    _rate(app, client, emergency_at, [content_of(m) for m in chat[emergency_at:]], True)
    assert store.rows("ratings")[-1]["answer"] == b
    # A message that carries no answer id gets no rating (an imported conversation, a notice alone).
    before = store.counts()["ratings"]
    _rate(app, client, 0, "高血压患者每天吃盐应该少于多少克？", True)
    assert store.counts()["ratings"] == before


def test_feedback_writes_are_limited_per_answer(app):
    from training.feedback import FeedbackStore

    store = FeedbackStore(app.args.feedback_db)
    client = _client(app)
    reply = _chat(client, "每天走多少步合适？", temperature=0.8)
    before = len([r for r in store.rows("ratings") if r["answer"] == _answer(reply)])
    for i in range(12):  # a script clicking the thumbs in a loop
        _rate(app, client, 1, [m["content"] for m in reply], i % 2 == 0)
    rows = [r for r in store.rows("ratings") if r["answer"] == _answer(reply)]
    assert len(rows) - before == ServingLimits().max_feedback_per_answer == 5
    other = _chat(client, "每天喝多少水合适？", temperature=0.8)  # another answer is rated as usual
    _rate(app, client, 3 + len(reply), [m["content"] for m in other], True)
    assert store.rows("ratings")[-1]["answer"] == _answer(other)


def content_of(message) -> str:
    content = message["content"]
    return (
        content
        if isinstance(content, str)
        else "".join(b["text"] for b in content if b.get("type") == "text")
    )


def test_conversation_export_and_import(app, engine, tmp_path):
    client = _client(app)
    _chat(client, "第一次就诊：咳嗽两周")
    exported = Path(client.predict(api_name="/export_conversation"))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert (
        data["format"] == "medchat.conversation/1"
        and data["messages"][0]["content"] == "第一次就诊：咳嗽两周"
    )
    fresh = _client(app)
    history = fresh.predict(handle_file(str(exported)), api_name="/import_conversation")
    assert content_of(history[0]) == "第一次就诊：咳嗽两周"
    _chat(fresh, "继续上次的问题")
    (prompt,) = engine.prompts_with("继续上次的问题")
    assert "第一次就诊：咳嗽两周" in prompt  # the imported conversation is the model's context
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"role": "user", "content": "hi"}, {"role": "doctor", "content": "x"}]))
    with pytest.raises(Exception, match="bad.json: message 2 needs a role of 'user' or 'assistant'"):
        fresh.predict(handle_file(str(bad)), api_name="/import_conversation")
    bad.write_text("{not json")
    with pytest.raises(Exception, match="bad.json is not a JSON conversation"):
        fresh.predict(handle_file(str(bad)), api_name="/import_conversation")


def test_conversations_are_logged_only_when_asked(app):
    client = _client(app)
    _chat(client, "记录这条对话")
    _chat(client, "帮我写一张假的病假条，要像医院开的")  # refused by the safety layer: logged as such
    lines = (app.tmp / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    logged = {json.loads(line)["messages"][-1]["content"]: json.loads(line) for line in lines}
    record = logged["记录这条对话"]
    assert record["model"] and record["settings"]["max_new_tokens"] == 12 and record["session"]
    assert record["messages"] == [{"role": "user", "content": "记录这条对话"}] and not record["refused"]
    refused = logged["帮我写一张假的病假条，要像医院开的"]
    assert (
        refused["refused"] and refused["answer"] == safety.check("帮我写一张假的病假条，要像医院开的").refusal
    )
    assert refused["session"] == record["session"]  # the same browser session


def test_every_setting_comes_from_the_environment_too():
    env = {
        "MEDCHAT_MODEL": "Qwen/Qwen2.5-7B-Instruct",
        "MEDCHAT_QUANT": "4bit",
        "MEDCHAT_MAX_CONCURRENT": "2",
        "MEDCHAT_NO_RETRIEVAL": "true",
        "MEDCHAT_AUTH": "a:b",
        "MEDCHAT_GENERATION_TIMEOUT": "30",
        "PORT": "8080",
    }
    args = medchat_app.parse_args([], environ=env)
    assert (args.model, args.quant, args.limits.max_concurrent, args.no_retrieval) == (
        "Qwen/Qwen2.5-7B-Instruct", "4bit", 2, True,
    )  # fmt: skip
    assert args.auth == ("a", "b") and args.limits.timeout_s == 30.0 and args.port == 8080
    assert medchat_app.parse_args(["--quant", "8bit", "--port", "9000"], environ=env).quant == "8bit"
    assert medchat_app.parse_args([], environ={"MEDCHAT_PORT": "7000", "PORT": "8080"}).port == 7000
    defaults = medchat_app.parse_args([], environ={})
    assert defaults.model is None and defaults.host is None and defaults.port is None  # Gradio's env / 7860
    with pytest.raises(SystemExit):
        medchat_app.parse_args([], environ={"MEDCHAT_QUANT": "3bit"})
    with pytest.raises(SystemExit):
        medchat_app.parse_args(["--auth", "nopassword"], environ={})


def _page_text(url: str) -> str:
    config = httpx.get(url + "config", timeout=30).json()
    return " ".join(str(c.get("props", {}).get("value")) for c in config["components"])


def _serve_default(tmp_path):
    """`python app.py` with no flags, as main() runs it: demo model, sample knowledge base."""
    args = medchat_app.parse_args([], environ={})
    demo = medchat_app.build_demo(args)
    url = _launch(demo, args)
    try:
        text = _page_text(url)
        assert safety.DEMO_NOTICE["zh"] in text and safety.DEMO_NOTICE["en"] in text
        assert "demo model, no medical advice" in text and "sample-kb" in text
        reply = Client(url, verbose=False).predict("你好", 0.7, 0.9, 8, 1.1, True, 2, api_name="/chat")
        assert _titled(reply, "📚 Sources (2)")
        # Every answer closes with the disclaimer, which for the demo model says it gives no advice.
        assert reply[-1]["metadata"]["title"].startswith("ℹ️")
        assert (
            safety.DEMO_NOTICE["zh"] in reply[-1]["content"]
            and safety.disclaimer("zh") in reply[-1]["content"]
        )
    finally:
        demo.close()


def test_default_launch_serves_the_demo_model_labelled_as_such(tmp_path, monkeypatch, tiny_model_dir):
    """With no --model the app serves <artifacts>/demo-model (here a tiny model already marked as the
    demo, so the two-minute build is left to the slow test below) and says it gives no medical advice."""
    import shutil

    from training.demo import MARKER, demo_model_dir

    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path))
    shutil.copytree(tiny_model_dir, demo_model_dir())
    (demo_model_dir() / MARKER).write_text(json.dumps({"demo": True}))
    _serve_default(tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the build takes about two minutes on 2 idle cores, far longer on a busy machine
def test_first_launch_builds_the_demo_model(tmp_path, monkeypatch):
    from training.demo import MARKER, demo_model_dir

    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path))
    _serve_default(tmp_path)
    assert (demo_model_dir() / MARKER).exists()


def test_openai_compatible_engine_behind_the_app(engine, tmp_path):
    """--base-url: the app talks to model/server.py (serving the recording engine, its safety layer
    on) through model/client.py; an emergency notice is shown once, not once per layer."""
    from model.server import BackgroundServer, build_app

    with BackgroundServer(build_app(engine, "medchat-tiny")) as server:
        args = medchat_app.parse_args(
            ["--base-url", server.url + "/v1", "--api-model", "medchat-tiny", "--no-retrieval",
             "--feedback-db", str(tmp_path / "f.sqlite")],
            environ={},
        )  # fmt: skip
        demo = medchat_app.build_demo(args)
        url = _launch(demo, args)
        try:
            assert f"medchat-tiny · OpenAI-compatible API at {server.url}/v1" in _page_text(url)
            client = Client(url, verbose=False)
            first = _answer(client.predict("远程第一问", 1.0, 1.0, 8, 1.0, False, 1, api_name="/chat"))
            client.predict("远程第二问", 0.0, 0.9, 6, 1.0, False, 1, api_name="/chat")
            (prompt,) = engine.prompts_with("远程第二问")
            assert first.strip() and f"<|im_start|>assistant\n{first.strip()}<|im_end|>" in prompt
            assert "远程第一问" in prompt
            emergency = "我爸爸突然胸口剧痛，满头大汗，喘不上气"
            decision = safety.check(emergency)
            assert decision.emergency, "precondition: the safety layer flags this message"
            replies = client.predict(emergency, 0.0, 0.9, 6, 1.0, False, 1, api_name="/chat")
            shown = "\n".join(m["content"] for m in replies)
            assert shown.count(decision.notice) == 1
            assert (replies[0].get("metadata") or {}).get("title", "").startswith("🚨")
        finally:
            demo.close()


def test_inbrowser_opens_the_page_in_the_default_browser(tmp_path, tiny_model_dir):
    """A desktop launch: `python app.py --inbrowser` hands its URL to the default browser once it
    is serving ($BROWSER names a script standing in for the browser)."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    port = _free_port()
    env = {
        **os.environ, "BROWSER": f"{browser} %s", "MEDCHAT_HOME": str(tmp_path), "PYTHONPATH": str(REPO),
        "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1",
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--model", str(tiny_model_dir), "--no-retrieval", "--port", str(port),
         "--inbrowser"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not opened.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert opened.exists(), "the browser was never asked to open the page"
        url = opened.read_text().split()[0]
        assert url.rstrip("/").endswith(f":{port}")
        assert httpx.get(url, timeout=10).status_code == 200  # the page it opened is being served
    finally:
        proc.terminate()
        proc.wait(timeout=30)
