"""medchat chat app: a streaming, multi-turn Gradio chat over a local (or OpenAI-compatible) model, with
optional grounding on a document index, medical safety notices, and feedback collection for RLHF.

    python app.py                                            # demo model (built on first launch), sample KB
    python app.py --model Qwen/Qwen2.5-7B-Instruct --quant 4bit
    python app.py --model SYNLP/ChiMed-GPT-1.0 --chat-template chimed --quant 4bit
    python app.py --base-url http://127.0.0.1:8000/v1 --api-model medchat   # any OpenAI-compatible engine

Every flag can also be set by an environment variable ``MEDCHAT_<FLAG>`` (``--max-queue`` ->
``MEDCHAT_MAX_QUEUE``; on/off flags take 1/true/yes), so the file runs unchanged as a Hugging Face
Space. Command-line flags win over the environment. Host and port fall back to Gradio's own
``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` (what Spaces set) and to ``PORT``.

The app holds no model code: loading, chat formatting and generation are model/, grounding is
retrieval/, the emergency/refusal layer is model/safety.py, and feedback storage is training/feedback.py.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from model import artifacts_dir, safety
from model.chat import ChatFormatError, content_text, history_to_messages
from model.generate import GenerationError, GenerationSettings, LocalEngine
from model.load import ModelLoadError, add_model_args, load_from_args, load_model
from retrieval import default_index_dir
from retrieval.ground import grounded_messages
from retrieval.index import HybridIndex, RetrievalIndexError
from retrieval.ingest import SUPPORTED_SUFFIXES, UploadError, check_upload
from training.feedback import FeedbackStore

log = logging.getLogger("medchat.app")

ENV_PREFIX = "MEDCHAT_"
DEMO_MARKER = "medchat_demo.json"
DEFAULT_SYSTEM_PROMPT = (
    "你是 medchat，一个医疗健康信息助手。用用户的语言（中文或英文）清楚、谨慎地回答。"
    "你不是医生：不做诊断、不开处方；需要时建议就医，紧急情况建议立即拨打急救电话。\n"
    "You are medchat, a medical information assistant. Answer in the user's language, clearly and "
    "cautiously. You are not a doctor: do not diagnose or prescribe; advise seeing a clinician when "
    "needed and calling emergency services in an emergency."
)
EXAMPLES = [
    "高血压患者饮食上要注意什么？",
    "孩子发烧38.5度，需要马上去医院吗？",
    "What are the common side effects of metformin?",
    "How can I tell a common cold from the flu?",
]


class StartupError(RuntimeError):
    """The app cannot start (bad index, bad flag combination); the message says what to fix."""


# ----------------------------------------------------------------------------------------------
# Settings: flags, with every flag also readable from MEDCHAT_* environment variables
# ----------------------------------------------------------------------------------------------


def _auth_pair(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("expected user:password")
    return user, password


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help keeps the module docstring's layout and shows every flag's default."""


def build_parser() -> argparse.ArgumentParser:
    """The app's flags (model flags shared with every CLI through ``add_model_args``)."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=_HelpFormatter,
        epilog="Every flag is also read from MEDCHAT_<FLAG> (e.g. MEDCHAT_MODEL, MEDCHAT_QUANT, MEDCHAT_PORT).",
    )
    add_model_args(parser)
    server = parser.add_argument_group("server")
    server.add_argument("--host", default=None, help="bind address; unset: GRADIO_SERVER_NAME or 127.0.0.1")
    server.add_argument(
        "--port", type=int, default=None, help="port; unset: PORT, GRADIO_SERVER_PORT or 7860"
    )
    server.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    server.add_argument(
        "--inbrowser", action="store_true", help="open the app in the default web browser once it is up"
    )
    server.add_argument("--auth", type=_auth_pair, default=None, metavar="USER:PASS", help="require a login")
    server.add_argument("--concurrency-limit", type=int, default=4, help="replies generated at the same time")
    server.add_argument(
        "--max-queue", type=int, default=64, help="requests waiting beyond that; more are refused"
    )
    engine = parser.add_argument_group("remote engine (instead of --model)")
    engine.add_argument(
        "--base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://host:8000/v1"
    )
    engine.add_argument("--api-model", default=None, help="model name served at --base-url")
    engine.add_argument("--api-key", default=None, help="API key for --base-url (or OPENAI_API_KEY)")
    chat = parser.add_argument_group("chat")
    chat.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT, help="system prompt ('' for none)")
    chat.add_argument(
        "--max-input-tokens",
        type=int,
        default=None,
        help="prompt budget; oldest turns dropped to fit (unset: context window - max_new_tokens)",
    )
    chat.add_argument("--max-message-chars", type=int, default=8000, help="longest accepted message")
    chat.add_argument(
        "--max-conversation-chars", type=int, default=60000, help="longest accepted conversation"
    )
    chat.add_argument(
        "--generation-timeout", type=float, default=120.0, help="seconds per reply before it is cut"
    )
    chat.add_argument("--max-new-tokens", type=int, default=512, help="default reply length (UI slider)")
    chat.add_argument("--temperature", type=float, default=0.7, help="default temperature (0 = greedy)")
    chat.add_argument("--top-p", type=float, default=0.9, help="default nucleus sampling threshold")
    chat.add_argument("--repetition-penalty", type=float, default=1.1, help="default repetition penalty")
    chat.add_argument("--no-refusal", action="store_true", help="answer clearly harmful requests too")
    grounding = parser.add_argument_group("grounding")
    grounding.add_argument(
        "--index", default=None, help="index folder; unset: the sample knowledge base, built on first use"
    )
    grounding.add_argument("--no-retrieval", action="store_true", help="no index, no grounding, no uploads")
    grounding.add_argument("--top-k", type=int, default=3, help="default number of sources per answer")
    grounding.add_argument("--upload-max-mb", type=float, default=10.0, help="largest accepted upload, MB")
    data = parser.add_argument_group("data kept on the server")
    data.add_argument(
        "--log-conversations", default=None, metavar="PATH", help="append every exchange to this JSONL file"
    )
    data.add_argument(
        "--feedback-db",
        default=None,
        metavar="PATH",
        help="SQLite feedback store; unset: <MEDCHAT_HOME>/feedback.sqlite",
    )
    return parser


def env_argv(parser: argparse.ArgumentParser, environ) -> list[str]:
    """Turn ``MEDCHAT_<FLAG>`` environment variables into command-line arguments for ``parser``."""
    argv: list[str] = []
    for action in parser._actions:
        flags = [opt for opt in action.option_strings if opt.startswith("--")]
        if not flags or action.dest == "help":
            continue
        name = ENV_PREFIX + flags[0][2:].upper().replace("-", "_")
        if name not in environ:
            continue
        value = environ[name]
        if action.nargs == 0:  # on/off flag
            if value.strip().lower() in ("1", "true", "yes", "on"):
                argv.append(flags[0])
        else:
            argv += [flags[0], value]
    if f"{ENV_PREFIX}PORT" not in environ and environ.get("PORT"):
        argv = ["--port", environ["PORT"], *argv]  # container platforms (Cloud Run, Render) set PORT
    return argv


def parse_args(argv: list[str] | None = None, environ=None) -> argparse.Namespace:
    """Flags from ``argv`` (default: sys.argv) over ``MEDCHAT_*`` variables from ``environ`` (default: os.environ)."""
    parser = build_parser()
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(env_argv(parser, environ) + list(argv))
    if args.base_url and args.model:
        parser.error("--base-url and --model are alternatives: the app uses one engine")
    if args.base_url and not args.api_model:
        parser.error("--base-url needs --api-model (the model name the endpoint serves)")
    return args


# ----------------------------------------------------------------------------------------------
# Engine, index and stores
# ----------------------------------------------------------------------------------------------


def load_engine(args: argparse.Namespace):
    """Return ``(engine, is_demo)``: the OpenAI-compatible client for ``--base-url``, else the local
    ``--model`` (default: the demo model, built on first launch with a progress bar)."""
    if args.base_url:
        from model.client import OpenAIEngine

        return OpenAIEngine(args.base_url, args.api_model, api_key=args.api_key), False
    if args.model is None:
        from training.demo import ensure_demo_model

        log.info("No --model given: serving the offline demo model (built on first launch).")
        path = ensure_demo_model()
        loaded = load_model(str(path), "none", None, args.device, args.chat_template, False)
    else:
        loaded = load_from_args(args)
    is_demo = (Path(loaded.name).expanduser() / DEMO_MARKER).exists()
    return LocalEngine(loaded, max_input_tokens=args.max_input_tokens), is_demo


def open_index(args: argparse.Namespace):
    """``(index, folder)``: ``--index`` (default: the sample knowledge base, built on first use), or
    ``(None, None)`` with ``--no-retrieval``."""
    if args.no_retrieval:
        return None, None
    folder = Path(args.index).expanduser() if args.index else default_index_dir()
    try:
        return HybridIndex.load(folder), folder
    except RetrievalIndexError as err:
        raise StartupError(f"could not open the index: {err}") from err


class ConversationLog:
    """Append-only JSONL log of exchanges; only exists when ``--log-conversations`` is given."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line)


# ----------------------------------------------------------------------------------------------
# Helpers for messages shown in the chat
# ----------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _notice(title: str, text: str, collapsed: bool = False) -> dict:
    """A UI-only message: titled, so model/chat.py history_to_messages keeps it out of the model's context."""
    metadata = {"title": title}
    if collapsed:
        metadata["status"] = "done"  # Gradio renders a "done" titled message as a closed accordion
    return {"role": "assistant", "content": text, "metadata": metadata}


def _same_text(answer: str, content) -> bool:
    """Whether chat ``content`` shows ``answer``: the Chatbot stores text through inspect.cleandoc
    (leading blank lines and common indentation removed), so compare what is shown."""
    return inspect.cleandoc(answer) == inspect.cleandoc(content_text(content))


def _conversation_chars(history) -> int:
    return sum(len(m["content"]) for m in history_to_messages(history))


DISCLAIMER_TITLE = {"zh": "ℹ️ 仅供参考，不构成医疗建议", "en": "ℹ️ Information only, not medical advice"}


def _disclaimer_message(lang: str, is_demo: bool) -> dict:
    """The disclaimer that closes every answer (collapsed), so API clients of /chat receive it too."""
    text = safety.disclaimer(lang)
    if is_demo:
        text = f"{safety.DEMO_NOTICE[lang]}\n\n{text}"
    return _notice(DISCLAIMER_TITLE["zh" if lang == "zh" else "en"], text, collapsed=True)


def _sources_message(hits) -> dict:
    lines = []
    for number, hit in enumerate(hits, 1):  # numbered as in the grounded prompt the model cites
        snippet = " ".join(hit.text.split())
        snippet = snippet if len(snippet) <= 300 else snippet[:300] + "…"
        lines.append(f"**[{number}]** `{hit.source}` · score {hit.score:.3f}\n\n> {snippet}")
    return _notice(f"📚 Sources ({len(hits)})", "\n\n".join(lines), collapsed=True)


def _last_answer(history, answers: dict) -> tuple[int, dict]:
    """Index and generation record of the last model answer in ``history``."""
    for index in range(len(history) - 1, -1, -1):
        item = history[index]
        if item.get("role") != "assistant" or (item.get("metadata") or {}).get("title"):
            continue
        record = answers.get(str(index))
        if record and _same_text(record["answer"], item.get("content")):
            return index, record
        break
    raise gr.Error("There is no model answer to work on yet: ask a question first.")


# ----------------------------------------------------------------------------------------------
# The app
# ----------------------------------------------------------------------------------------------


def build_demo(args: argparse.Namespace, engine=None, is_demo: bool = False) -> gr.Blocks:
    """Build the Gradio app for ``args`` (from :func:`parse_args`).

    ``engine`` (LocalEngine's chat interface) is loaded from ``args`` when not given; tests pass
    one to share a model across apps. The index comes from ``--index`` / ``--no-retrieval``.
    """
    if engine is None:
        engine, is_demo = load_engine(args)
    index, index_dir = open_index(args)
    store = FeedbackStore(args.feedback_db or artifacts_dir() / "feedback.sqlite")
    convo_log = ConversationLog(args.log_conversations) if args.log_conversations else None
    max_upload_bytes = int(args.upload_max_mb * 1024 * 1024)
    export_dir = Path(tempfile.mkdtemp(prefix="medchat-export-"))

    def settings_from(temperature, top_p, max_new_tokens, repetition_penalty) -> GenerationSettings:
        try:
            return GenerationSettings(
                max_new_tokens=int(max_new_tokens),
                temperature=float(temperature),
                top_p=float(top_p),
                repetition_penalty=float(repetition_penalty),
                timeout_s=args.generation_timeout,
            )
        except (TypeError, ValueError) as err:
            raise gr.Error(f"Invalid generation setting: {err}") from None

    def stream_answer(prompt_messages, settings):
        """Yield (text so far, notices, error message or None) while generating; the last item carries
        the notices known only at the end (timeout)."""
        try:
            fitted, stream = engine.stream_chat(prompt_messages, settings)
        except ChatFormatError as err:  # includes PromptTooLong
            raise gr.Error(str(err)) from None
        except GenerationError as err:  # a remote engine that refused or is unreachable
            log.error("generation failed: %s", err)
            yield "", [], _notice("⚠️ Error", f"{err}. The server is still running: try again.")
            return
        notices = [_notice("✂️ Context shortened", fitted.notice)] if fitted.notice else []
        text = ""
        try:
            for piece in stream:
                text += piece
                yield text, notices, None
        except GenerationError as err:
            log.exception("generation failed")
            yield text, notices, _notice("⚠️ Error", f"{err}. The server is still running: try again.")
            return
        finally:
            stream.cancel()  # a closed generator (Stop button, client gone) stops the model too
        if stream.finish_reason == "timeout":
            notices = notices + [
                _notice(
                    "⏱️ Stopped",
                    f"The answer was cut at the {args.generation_timeout:g}-second generation limit "
                    "(finish_reason: timeout).",
                )
            ]
        yield text, notices, None

    def respond(
        message, history, temperature, top_p, max_new_tokens, repetition_penalty, grounding, top_k,
        session_index, answers,
    ):  # fmt: skip
        """Answer ``message`` given the visible ``history``; yields the growing list of new messages."""
        text = content_text(message).strip()
        if not text:
            raise gr.Error("The message is empty: type a question first.")
        if len(text) > args.max_message_chars:
            raise gr.Error(
                f"The message has {len(text):,} characters, over this server's limit of "
                f"{args.max_message_chars:,}: shorten it or split it up."
            )
        total = _conversation_chars(history) + len(text)
        if total > args.max_conversation_chars:
            raise gr.Error(
                f"This conversation has {total:,} characters, over this server's limit of "
                f"{args.max_conversation_chars:,}: clear it (🗑) or export it and start a new one."
            )
        settings = settings_from(temperature, top_p, max_new_tokens, repetition_penalty)
        answers = dict(answers or {})
        answers.setdefault("session", uuid.uuid4().hex)
        decision = safety.check(text, refuse_harmful=not args.no_refusal)
        head = (
            [_notice("🚨 Emergency · 紧急", decision.notice)]
            if decision.emergency and decision.notice
            else []
        )
        footer = [_disclaimer_message(decision.lang, is_demo)]
        started = time.perf_counter()

        def log_exchange(answer: str, error: dict | None, hits=()) -> None:
            if convo_log is not None:
                convo_log.write(
                    {
                        "time": _now(),
                        "session": answers["session"],
                        "model": engine.name,
                        "settings": settings.to_dict(),
                        "messages": history_to_messages(history, text),
                        "answer": answer,
                        "refused": decision.refuse,
                        "error": error["content"] if error else None,
                        "seconds": round(time.perf_counter() - started, 3),
                        "sources": [h.source for h in hits],
                    }
                )

        if decision.refuse:
            log_exchange(decision.refusal, None)
            yield head + [{"role": "assistant", "content": decision.refusal}] + footer, answers
            return
        messages = history_to_messages(history, text, args.system_prompt or None)
        hits = []
        active_index = session_index if session_index is not None else index
        if grounding and active_index is not None:
            hits = active_index.search(text, k=int(top_k))
            if hits:
                messages = grounded_messages(messages, hits)
        tail = ([_sources_message(hits)] if hits else []) + footer
        answer, notices, error = "", [], None
        try:
            for answer, notices, error in stream_answer(messages, settings):
                out = head + notices + [{"role": "assistant", "content": answer}]
                yield out + ([error] if error else []) + tail, answers
            if error is None:
                # Its place in the chat: after the history, the user message and the notices above it.
                answers[str(len(history) + 1 + len(head) + len(notices))] = {
                    "answer": answer,
                    "prompt": messages,
                    "conversation": history_to_messages(history, text),
                    "model": engine.name,
                    "settings": {**settings.to_dict(), "grounding": bool(hits), "top_k": int(top_k)},
                    "sources": [{"source": h.source, "chunk_id": h.chunk_id, "score": h.score} for h in hits],
                    "time": _now(),
                }
                yield out + tail, answers
        finally:  # also when the user pressed Stop: the partial answer is what they saw
            log_exchange(answer, error, hits)

    def on_like(history, answers, data: gr.LikeData):
        """Thumbs up/down on an answer -> one rating row in the feedback store."""
        if data.liked not in (True, False, "Like", "Dislike"):
            return  # a thumb taken back
        liked = data.liked in (True, "Like")
        # The browser reports the first message of the rated bubble, which groups the answer with
        # the notices and Sources panel around it: find the model answer in that group.
        record = None
        index = data.index if isinstance(data.index, int) else -1
        while 0 <= index < len(history) and history[index].get("role") == "assistant":
            candidate = (answers or {}).get(str(index))
            if candidate and _same_text(candidate["answer"], history[index].get("content")):
                record = candidate
                break
            index += 1
        if record is None:
            gr.Info("Feedback is recorded for model answers only.")
            return
        store.add_rating(
            prompt=record["prompt"],
            answer=record["answer"],
            rating=1 if liked else -1,
            model=record["model"],
            settings=record["settings"],
            conversation=record["conversation"],
            session=answers.get("session"),
        )
        gr.Info("Thanks: your rating was saved.")

    def compare(history, answers, temperature, top_p, max_new_tokens, repetition_penalty):
        """Regenerate the last answer with sampling and show both, for the user to pick the better one."""
        index, record = _last_answer(history, answers or {})
        settings = settings_from(temperature, top_p, max_new_tokens, repetition_penalty)
        note = ""
        if settings.temperature == 0:  # greedy decoding would reproduce the same answer
            settings.temperature = 0.7
            note = " (sampled at temperature 0.7: greedy decoding would repeat answer A)"
        pending = {"index": index, "a": record["answer"], "b": None, "settings": settings.to_dict()}
        locked = (gr.update(interactive=False), gr.update(interactive=False))
        for text, _, error in stream_answer(record["prompt"], settings):
            if error is not None:
                yield record["answer"], text, error["content"], None, *locked
                return
            yield record["answer"], text, f"Generating answer B{note}…", pending, *locked
        pending = {**pending, "b": text}
        unlocked = (gr.update(interactive=True), gr.update(interactive=True))
        yield record["answer"], text, f"Which answer is better?{note}", pending, *unlocked

    def pick(choice, history, answers, pending):
        """Store the user's choice between answers A and B; B replaces A in the chat when chosen."""
        if not pending or pending.get("b") is None:
            raise gr.Error("Generate an alternative answer first (Regenerate to compare).")
        index = pending["index"]
        answers = dict(answers or {})
        record = answers.get(str(index))
        if not record or index >= len(history) or not _same_text(pending["a"], history[index].get("content")):
            raise gr.Error("The conversation changed since the comparison was generated: compare again.")
        chosen, rejected = (pending["a"], pending["b"]) if choice == "A" else (pending["b"], pending["a"])
        store.add_comparison(
            prompt=record["prompt"],
            chosen=chosen,
            rejected=rejected,
            model=record["model"],
            settings={"a": record["settings"], "b": pending["settings"]},
            conversation=record["conversation"],
            session=answers.get("session"),
        )
        history = list(history)
        if choice == "B":
            history[index] = {**history[index], "content": pending["b"]}
            answers[str(index)] = {**record, "answer": pending["b"], "settings": pending["settings"]}
        status = f"Saved: answer {choice} preferred." + (
            " It now replaces A in the chat." if choice == "B" else ""
        )
        locked = gr.update(interactive=False)
        return history, history, answers, None, status, locked, locked

    def add_documents(files, session_index):
        """Check uploaded documents and add them to this session's copy of the index."""
        if index is None:
            raise gr.Error("Grounding is off on this server (--no-retrieval): documents cannot be added.")
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            raise gr.Error("No file received.")
        docs, added, problems = [], [], []
        for path in paths:
            try:
                docs += check_upload(path, max_upload_bytes)
                added.append(Path(path).name)
            except UploadError as err:
                problems.append(str(err))
        if not docs:
            raise gr.Error("Nothing was added. " + " ".join(problems))
        # The first upload of a session copies the shared index: other sessions never see these files.
        session_index = session_index if session_index is not None else index.copy()
        report = session_index.add_documents(docs)
        lines = [
            f"Added {', '.join(added)} to this session's knowledge base: {report.added} new chunks "
            f"({report.duplicates} already present); {len(session_index)} chunks in all."
        ]
        lines += [f"Not added: {p}" for p in problems]
        return "\n\n".join(lines), session_index

    def export_conversation(history, answers):
        if not history:
            raise gr.Error("The conversation is empty: nothing to export.")
        path = (
            export_dir / f"medchat-conversation-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.json"
        )
        data = {"format": "medchat.conversation/1", "exported_at": _now(), "model": engine.name}
        data["messages"] = [
            {k: v for k, v in m.items() if k in ("role", "content", "metadata") and v is not None}
            for m in history
        ]
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        return str(path)

    def import_conversation(file):
        history = load_conversation(file, max_upload_bytes)
        return history, history, {}

    # ------------------------------------------------------------------------------------------
    langs = ("zh", "en")
    banner = []
    if is_demo:
        banner.append("⚠️ **" + " / ".join(safety.DEMO_NOTICE[lang] for lang in langs) + "**")
    banner.append("ℹ️ " + " / ".join(safety.disclaimer(lang) for lang in langs))
    logging_line = (
        f"Conversation logging: **on** (every exchange is saved on the server to `{Path(args.log_conversations).name}`)"
        if convo_log
        else "Conversation logging: **off** (nothing you type is kept on the server unless you rate or compare answers)"
    )
    kb_line = (
        "Knowledge base: off"
        if index is None
        else f"Knowledge base: `{index_dir.name}` ({len(index)} chunks)"
    )
    model_line = f"Model: **{engine.describe()}**" + (" · demo model, no medical advice" if is_demo else "")

    with gr.Blocks(title="medchat") as demo:
        gr.Markdown("# medchat")
        gr.Markdown("\n\n".join(banner), elem_id="disclaimer")
        gr.Markdown(f"{model_line}  \n{kb_line} · {logging_line}", elem_id="status-line")
        session_index = gr.State(None)
        answers = gr.State({})
        pending = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                with gr.Accordion("Generation settings", open=False):
                    temperature = gr.Slider(
                        0, 2, value=args.temperature, step=0.05, label="temperature (0 = greedy)"
                    )
                    top_p = gr.Slider(0.05, 1, value=args.top_p, step=0.05, label="top_p")
                    max_new_tokens = gr.Slider(
                        1, 4096, value=args.max_new_tokens, step=1, label="max_new_tokens"
                    )
                    repetition_penalty = gr.Slider(
                        0.8, 2, value=args.repetition_penalty, step=0.05, label="repetition_penalty"
                    )
                with gr.Accordion(
                    "Grounding on documents", open=index is not None, visible=index is not None
                ):
                    grounding = gr.Checkbox(value=index is not None, label="Answer from the knowledge base")
                    top_k = gr.Slider(1, 10, value=args.top_k, step=1, label="sources per answer (top-k)")
                    uploads = gr.File(
                        label=f"Add documents to this session ({', '.join(SUPPORTED_SUFFIXES)}; ≤ {args.upload_max_mb:g} MB each)",
                        file_count="multiple",
                        file_types=list(SUPPORTED_SUFFIXES),
                    )
                    upload_status = gr.Markdown()
                with gr.Accordion("Compare answers (feedback)", open=False):
                    gr.Markdown(
                        "Regenerate the last answer and pick the better one: your choice trains the model."
                    )
                    compare_btn = gr.Button("Regenerate to compare")
                    compare_status = gr.Markdown()
                    answer_a = gr.Textbox(label="A (current answer)", lines=4, interactive=False)
                    answer_b = gr.Textbox(label="B (new answer)", lines=4, interactive=False)
                    with gr.Row():
                        prefer_a = gr.Button("A is better", interactive=False)
                        prefer_b = gr.Button("B is better", interactive=False)
                with gr.Accordion("Conversation", open=False):
                    export_btn = gr.Button("Export as JSON")
                    export_file = gr.File(label="exported conversation", interactive=False)
                    import_btn = gr.UploadButton("Import JSON", file_types=[".json"])
            with gr.Column(scale=3):
                chat = gr.ChatInterface(
                    respond,
                    chatbot=gr.Chatbot(label="medchat", height=560, elem_id="chatbot"),
                    textbox=gr.Textbox(
                        placeholder="问一个健康问题 / Ask a health question", elem_id="chat-input"
                    ),
                    additional_inputs=[
                        temperature,
                        top_p,
                        max_new_tokens,
                        repetition_penalty,
                        grounding,
                        top_k,
                        session_index,
                        answers,
                    ],
                    additional_outputs=[answers],
                    examples=[[e] for e in EXAMPLES],
                    api_name="chat",
                    fill_height=False,
                )

        # queue=False: a quick database write; also reachable as POST /gradio_api/run/rate (tests).
        chat.chatbot.like(
            on_like,
            [chat.chatbot_state, answers],
            None,
            api_name="rate",
            api_visibility="undocumented",
            queue=False,
        )
        compare_btn.click(
            compare,
            [chat.chatbot_state, answers, temperature, top_p, max_new_tokens, repetition_penalty],
            [answer_a, answer_b, compare_status, pending, prefer_a, prefer_b],
            api_name="compare",
        )
        for button, choice in ((prefer_a, "A"), (prefer_b, "B")):
            button.click(
                lambda h, a, p, c=choice: pick(c, h, a, p),
                [chat.chatbot_state, answers, pending],
                [chat.chatbot, chat.chatbot_state, answers, pending, compare_status, prefer_a, prefer_b],
                api_name=f"prefer_{choice.lower()}",
            )
        uploads.upload(
            add_documents, [uploads, session_index], [upload_status, session_index], api_name="add_documents"
        )
        export_btn.click(
            export_conversation, [chat.chatbot_state, answers], export_file, api_name="export_conversation"
        )
        import_btn.upload(
            import_conversation,
            import_btn,
            [chat.chatbot, chat.chatbot_state, answers],
            api_name="import_conversation",
        )

    demo.queue(default_concurrency_limit=args.concurrency_limit, max_size=args.max_queue)
    demo.medchat_engine = engine  # for tests and embedding: the engine this app serves
    return demo


def load_conversation(path: str | Path, max_bytes: int) -> list[dict]:
    """Read a conversation exported by the app (or a plain list of ``{role, content}`` messages).

    Raises ``gr.Error`` naming the problem (file, message number) for anything else."""
    path = Path(path)
    name = path.name
    if path.stat().st_size > max_bytes:
        raise gr.Error(
            f"{name} is {path.stat().st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise gr.Error(f"{name} is not a JSON conversation: {err}") from None
    messages = data.get("messages") if isinstance(data, dict) else data
    if not isinstance(messages, list):
        raise gr.Error(f"{name}: expected a list of messages (or an object with 'messages').")
    history = []
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise gr.Error(f"{name}: message {number} needs a role of 'user' or 'assistant'.")
        content = message.get("content")
        if not isinstance(content, str | list):
            raise gr.Error(f"{name}: message {number} has no text content.")
        item = {
            "role": message["role"],
            "content": content if isinstance(content, str) else content_text(content),
        }
        title = (
            (message.get("metadata") or {}).get("title")
            if isinstance(message.get("metadata"), dict)
            else None
        )
        if title:
            item["metadata"] = {"title": str(title)}
        history.append(item)
    return history


def launch_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments for ``demo.launch`` from the flags."""
    return {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share,
        "inbrowser": args.inbrowser,
        "auth": args.auth,
        "max_file_size": int(args.upload_max_mb * 1024 * 1024),
        "show_error": True,
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        demo = build_demo(args)
    except (ModelLoadError, StartupError, ChatFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    demo.launch(**launch_kwargs(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
