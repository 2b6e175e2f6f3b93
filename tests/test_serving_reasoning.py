"""Serving a reasoning model's replies: the streaming splitter (model/reasoning.py), the chat service
(reasoning apart from the answer in the turn and its record), the launched app through
gradio_client (a collapsed Thinking block, and a history sent back without it), the API server
through the official openai client (``reasoning_content`` streamed and not, the notices in
``content`` only) and model/client.py passing reasoning on to an app in front of our server.

A tiny local model cannot be made to write ``<think>`` reliably, so the engine here is scripted: it
streams fixed replies, with the markers cut across pieces, behind LocalEngine's interface, and
records every conversation it receives. Everything around it (service, Gradio, FastAPI, HTTP,
openai client) is the real thing.

    pytest tests/test_serving_reasoning.py
"""

import threading
from types import SimpleNamespace

import openai
import pytest
from gradio_client import Client

import app as medchat_app
import safety
from model.chat import FittedPrompt
from model.client import OpenAIEngine
from model.reasoning import ReasoningSplitter, split_reasoning
from model.server import BackgroundServer, build_app
from model.service import ChatService
from ui.messages import THINKING_TITLE, from_inert

THOUGHT = "The user has a fever of 38.5. Children tolerate this; check for red flags."
ANSWER = "Give fluids and rest; see a doctor if it lasts over 3 days."
TAGGED = ["<thi", "nk>", THOUGHT[:20], THOUGHT[20:], "</th", "ink>\n\n", ANSWER[:10], ANSWER[10:]]
HUATUO = ["## Thinking\n\n", THOUGHT, "\n\n## Final ", "Response\n\n", ANSWER]
EMERGENCY = "我爸爸突然胸口剧痛，满头大汗，喘不上气，怎么办？"


class _ScriptedStream:
    def __init__(self, pieces):
        self.pieces, self.finish_reason = pieces, None
        self.prompt_tokens, self.completion_tokens = 7, len(pieces)
        self.cancelled = threading.Event()

    def cancel(self):
        self.cancelled.set()

    def __iter__(self):
        for piece in self.pieces:
            if self.cancelled.is_set():
                self.finish_reason = "cancelled"
                return
            yield piece
        self.finish_reason = "stop"


class ScriptedEngine:
    """LocalEngine's chat interface with a fixed reply; ``received`` keeps every conversation."""

    name = "scripted-reasoner"

    def __init__(self, pieces):
        self.pieces = pieces
        self.received: list[list[dict]] = []

    def describe(self):
        return f"{self.name} · scripted"

    def stream_chat(self, messages, settings, cancel=None):
        self.received.append([dict(m) for m in messages])
        prompt = FittedPrompt(text="", messages=list(messages), n_tokens=0, dropped_messages=0)
        return prompt, _ScriptedStream(self.pieces)


# ------------------------------------------------------------------------------ the splitter


def _stream_split(pieces, opened=False):
    splitter = ReasoningSplitter(opened)
    parts = [p for piece in pieces for p in splitter.feed(piece)] + splitter.finish()
    join = lambda kind: "".join(t for k, t in parts if k == kind)  # noqa: E731
    return join("reasoning").strip(), join("answer"), splitter.closed


@pytest.mark.parametrize("pieces", [TAGGED, HUATUO], ids=["think-tags", "huatuo-headings"])
def test_the_splitter_finds_reasoning_and_answer_wherever_the_pieces_are_cut(pieces):
    text = "".join(pieces)
    assert _stream_split(pieces) == (THOUGHT, ANSWER, True)
    for cut in range(1, len(text)):  # every two-piece cut, and one character at a time
        assert _stream_split([text[:cut], text[cut:]]) == (THOUGHT, ANSWER, True), cut
    assert _stream_split(list(text)) == (THOUGHT, ANSWER, True)
    assert split_reasoning(text) == (THOUGHT, ANSWER, True)


def test_the_splitter_never_shows_a_marker_and_keeps_ordinary_text():
    splitter = ReasoningSplitter()
    shown = [p for piece in TAGGED for p in splitter.feed(piece)]
    assert not any("<" in text or "think>" in text for _, text in shown)
    # Reasoning only counts at the start; a reply stopped mid-reasoning has no answer.
    assert split_reasoning("Take <think> this </think> as text") == (
        "",
        "Take <think> this </think> as text",
        True,
    )
    assert split_reasoning("# Diet tips\n\nEat less salt.") == ("", "# Diet tips\n\nEat less salt.", True)
    # Held back only while it can still become a marker: a plain heading or text shows at once.
    assert ReasoningSplitter().feed("# Diet tips, and ") == [("answer", "# Diet tips, and ")]
    assert ReasoningSplitter().feed("## Thin") == [] and ReasoningSplitter().feed("<th") == []
    assert ReasoningSplitter().feed("\n" * 40) == [("answer", "\n" * 40)]  # not held for ever
    assert split_reasoning("\n\n<think>a</think>b") == ("a", "b", True)
    assert split_reasoning("<think>still weighing the") == ("still weighing the", "", False)
    # A template that opened the tag in the prompt: the reply starts inside the reasoning.
    assert split_reasoning(THOUGHT + "</think>" + ANSWER, opened=True) == (THOUGHT, ANSWER, True)


def test_the_service_keeps_reasoning_apart_from_the_answer_and_records_both():
    service = ChatService(ScriptedEngine(TAGGED))
    turn = service.begin([{"role": "user", "content": "孩子发烧38.5度怎么办？"}], service.settings())
    parts = list(turn.start().parts())
    assert parts[0] == ("held", "")  # "<thi" might begin the marker: nothing shown, but a wake-up
    kinds = [k for k, _ in parts if k != "held"]
    assert kinds[0] == "reasoning" and kinds[-1] == "answer" and all(t for k, t in parts if k != "held")
    assert turn.reply == ANSWER and turn.reasoning.strip() == THOUGHT
    assert turn.record.reply == ANSWER and turn.record.reasoning == THOUGHT
    turn = service.begin([{"role": "user", "content": "again"}], service.settings())
    assert "".join(turn.start()) == ANSWER  # iterating a stream gives the answer alone


# ------------------------------------------------------------------------------ the app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reasoning-app")
    args = medchat_app.parse_args(["--no-retrieval", "--feedback-db", str(tmp / "f.sqlite")], environ={})
    engine = ScriptedEngine(TAGGED)
    demo = medchat_app.build_demo(args, engine=engine)
    port = medchat_app_port()
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=port)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", engine=engine, args=args)
    demo.close()


def medchat_app_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _title(message) -> str:
    return (message.get("metadata") or {}).get("title") or ""


def _ask(client, text):
    return client.submit(text, 0.0, 0.9, 64, 1.0, False, 1, api_name="/chat")


def test_the_app_streams_reasoning_into_a_collapsed_thinking_block(app):
    client = Client(app.url, verbose=False)
    updates = list(_ask(client, "孩子发烧38.5度怎么办？"))
    final = updates[-1]
    (thinking,) = [m for m in final if _title(m).startswith(THINKING_TITLE)]
    assert from_inert(thinking["content"]) == THOUGHT and thinking["metadata"]["status"] == "done"
    assert isinstance(thinking["metadata"].get("duration"), float)
    (answer,) = [m for m in final if not _title(m)]
    assert from_inert(answer["content"]) == ANSWER and answer["metadata"]["id"].startswith("ans-")
    # While it streamed, the Thinking block came first, titled as still thinking, before any answer.
    early = [u for u in updates if any(_title(m) == THINKING_TITLE + "…" for m in u)]
    assert early and all(not any(not _title(m) for m in u) for u in early)
    # The disclaimer closes the answer, never inside the reasoning.
    assert (
        final[-1]["content"] == safety.disclaimer("zh") and safety.disclaimer("zh") not in thinking["content"]
    )


def test_the_history_sent_back_to_the_model_holds_the_answer_only(app):
    client = Client(app.url, verbose=False)
    list(_ask(client, "第一问：发烧怎么办？"))
    list(_ask(client, "第二问：那要吃药吗？"))
    (conversation,) = [c for c in app.engine.received if c[-1]["content"] == "第二问：那要吃药吗？"]
    assistant = [m["content"] for m in conversation if m["role"] == "assistant"]
    assert assistant == [ANSWER]  # the first answer, without its reasoning
    assert not any(THOUGHT[:20] in m["content"] or "think" in m["content"] for m in conversation)


def test_an_emergency_notice_goes_with_the_answer_not_the_reasoning(app):
    client = Client(app.url, verbose=False)
    final = list(_ask(client, EMERGENCY))[-1]
    notice = safety.check(EMERGENCY).notice
    assert final[0]["content"] == notice and _title(final[0]).startswith("🚨")
    (thinking,) = [m for m in final if _title(m).startswith(THINKING_TITLE)]
    assert notice not in thinking["content"] and "120" not in thinking["content"]


# ------------------------------------------------------------------------------ the API server


@pytest.fixture(scope="module")
def server():
    engine = ScriptedEngine(HUATUO)
    with BackgroundServer(build_app(engine, "reasoner")) as srv:
        yield SimpleNamespace(url=srv.url, engine=engine)


def _openai(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)


def test_the_api_returns_reasoning_content_beside_content(server):
    reply = _openai(server).chat.completions.create(
        model="reasoner", messages=[{"role": "user", "content": "发烧怎么办？"}]
    )
    message = reply.choices[0].message
    assert message.content == ANSWER and message.reasoning_content == THOUGHT
    assert reply.model_extra["medchat"]["added_text"] == {"prefix": "", "suffix": ""}


def test_the_api_streams_reasoning_content_then_content_with_the_notice_in_content(server):
    stream = _openai(server).chat.completions.create(
        model="reasoner", messages=[{"role": "user", "content": EMERGENCY}], stream=True
    )
    kinds, reasoning, content = [], "", ""
    for chunk in stream:
        for choice in chunk.choices:
            r, c = (choice.delta.model_extra or {}).get("reasoning_content"), choice.delta.content
            if r:
                kinds.append("r")
                reasoning += r
            if c:
                kinds.append("c")
                content += c
    notice = safety.check(EMERGENCY).notice
    assert reasoning.strip() == THOUGHT and content == notice + "\n\n" + ANSWER
    assert notice not in reasoning and "##" not in reasoning + content
    assert kinds[0] == "c" and "r" in kinds and kinds[-1] == "c"  # notice first, then reasoning, answer


def test_the_client_passes_reasoning_on_so_an_app_in_front_of_our_server_shows_it(server, tmp_path):
    remote = OpenAIEngine(server.url + "/v1", "reasoner", max_retries=0)
    service = ChatService(remote)
    turn = service.begin([{"role": "user", "content": EMERGENCY}], service.settings())
    assert "".join(turn.start()) == ANSWER  # the server's notice is taken off exactly
    assert turn.reasoning.strip() == THOUGHT and turn.emergency_notice == safety.check(EMERGENCY).notice
    args = medchat_app.parse_args(
        ["--base-url", server.url + "/v1", "--api-model", "reasoner", "--no-retrieval",
         "--feedback-db", str(tmp_path / "f.sqlite")],
        environ={},
    )  # fmt: skip
    demo = medchat_app.build_demo(args)
    port = medchat_app_port()
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=port)
    try:
        final = list(_ask(Client(f"http://127.0.0.1:{port}/", verbose=False), "发烧怎么办？"))[-1]
    finally:
        demo.close()
    (thinking,) = [m for m in final if _title(m).startswith(THINKING_TITLE)]
    (answer,) = [m for m in final if not _title(m)]
    assert from_inert(thinking["content"]) == THOUGHT and from_inert(answer["content"]) == ANSWER
