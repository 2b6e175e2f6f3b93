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

The app holds no model code and no serving rules: it is a Gradio layer (ui/) over model/service.py's
ChatService, which applies the limits, the safety layer (safety/), grounding (retrieval/),
generation (model/) and feedback storage (training/feedback.py) exactly as the API server does.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import gradio as gr

import safety
from model import artifacts_dir
from model.chat import ChatFormatError
from model.engines import EngineArgsError, add_engine_args, check_engine_args, engine_from_args
from model.generate import LocalEngine
from model.limits import add_limit_args, limits_from_args
from model.load import ModelLoadError, load_model
from model.records import ConversationLog, public_description, public_name
from model.service import DEFAULT_SYSTEM_PROMPT, ChatService
from model.tempdirs import make_temp_dir, remove_stale_temp_dirs
from retrieval import default_index_dir
from retrieval.index import HybridIndex, RetrievalIndexError
from retrieval.sessions import (
    DEFAULT_IDLE_SECONDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CHUNKS,
    DEFAULT_MAX_TOTAL_BYTES,
    SessionIndexes,
)
from safety.triage import add_triage_args, triage_from_args
from training.feedback import FeedbackStore
from ui.files import DocumentsAndFiles, load_conversation
from ui.handlers import ChatHandlers
from ui.layout import PageDefaults, build_blocks
from ui.login import LoginGate
from ui.messages import CONTENT_SECURITY_POLICY, DISCLAIMER_TITLE

__all__ = ["DISCLAIMER_TITLE", "build_demo", "launch_kwargs", "load_conversation", "main", "parse_args"]

log = logging.getLogger("medchat.app")

ENV_PREFIX = "MEDCHAT_"
DEMO_MARKER = "medchat_demo.json"


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
    """The app's flags: the model flags every command shares (model/engines.py), the serving
    limits the API server shares (model/limits.py), and the app's own."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=_HelpFormatter,
        epilog="Every flag is also read from MEDCHAT_<FLAG> (e.g. MEDCHAT_MODEL, MEDCHAT_QUANT, MEDCHAT_PORT).",
    )
    add_engine_args(parser)
    add_limit_args(parser)
    add_triage_args(parser)
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
    chat = parser.add_argument_group("chat")
    chat.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT, help="system prompt ('' for none)")
    chat.add_argument(
        "--max-input-tokens",
        type=int,
        default=None,
        help="prompt budget; oldest turns dropped to fit (unset: context window - max_new_tokens)",
    )
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
    grounding.add_argument(
        "--session-max-chunks", type=int, default=DEFAULT_MAX_CHUNKS, help="chunks one session may upload"
    )
    grounding.add_argument(
        "--session-max-mb",
        type=float,
        default=DEFAULT_MAX_BYTES / 2**20,
        help="memory one session's uploads may hold, MB",
    )
    grounding.add_argument(
        "--sessions-max-mb",
        type=float,
        default=DEFAULT_MAX_TOTAL_BYTES / 2**20,
        help="memory all sessions' uploads may hold, MB",
    )
    grounding.add_argument(
        "--session-idle-minutes", type=float, default=DEFAULT_IDLE_SECONDS / 60,
        help="a session's uploads are freed after this long unused (and at once when its tab closes)",
    )  # fmt: skip
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
    try:
        check_engine_args(args, required=False)
        args.limits = limits_from_args(args)
    except (EngineArgsError, ValueError) as err:
        parser.error(str(err))
    return args


# ----------------------------------------------------------------------------------------------
# Engine, index, service
# ----------------------------------------------------------------------------------------------


def load_engine(args: argparse.Namespace):
    """Return ``(engine, is_demo)``: the engine the model flags name (model/engines.py), or with
    neither ``--model`` nor ``--base-url`` the demo model (built on first launch)."""
    engine = engine_from_args(args, required=False, max_input_tokens=args.max_input_tokens)
    if engine is None:
        from training.demo import ensure_demo_model

        log.info("No --model given: serving the offline demo model (built on first launch).")
        path = ensure_demo_model()
        loaded = load_model(str(path), "none", None, args.device, args.chat_template, False)
        engine = LocalEngine(loaded, max_input_tokens=args.max_input_tokens)
    is_demo = isinstance(engine, LocalEngine) and (Path(engine.name).expanduser() / DEMO_MARKER).exists()
    return engine, is_demo


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


def build_service(args: argparse.Namespace, engine, is_demo: bool, index) -> ChatService:
    """The chat service behind the page, configured by the flags."""
    return ChatService(
        engine,
        args.limits,
        index=index,
        feedback=FeedbackStore(args.feedback_db or artifacts_dir() / "feedback.sqlite"),
        log=ConversationLog(args.log_conversations) if args.log_conversations else None,
        system_prompt=args.system_prompt,
        refuse_harmful=not args.no_refusal,
        is_demo=is_demo,
        triage=triage_from_args(args),
    )


def page_defaults(args: argparse.Namespace, service: ChatService, index, index_dir) -> PageDefaults:
    langs = ("zh", "en")
    banner = []
    if service.is_demo:
        banner.append("⚠️ **" + " / ".join(safety.DEMO_NOTICE[lang] for lang in langs) + "**")
    banner.append("ℹ️ " + " / ".join(safety.disclaimer(lang) for lang in langs))
    logging_line = (
        f"Conversation logging: **on** (every exchange is saved on the server to `{Path(args.log_conversations).name}`)"
        if service.log
        else "Conversation logging: **off** (nothing you type is kept on the server unless you rate or compare answers)"
    )
    kb_line = (
        "Knowledge base: off"
        if index is None
        else f"Knowledge base: `{index_dir.name}` ({len(index)} chunks)"
    )
    model_line = f"Model: **{public_description(service.engine)}**" + (
        " · demo model, no medical advice" if service.is_demo else ""
    )
    limits = args.limits
    return PageDefaults(
        header="\n\n".join(banner),
        status=f"{model_line}  \n{kb_line} · {logging_line}",
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=min(limits.default_max_new_tokens, limits.max_new_tokens_cap),
        max_new_tokens_cap=limits.max_new_tokens_cap,
        repetition_penalty=args.repetition_penalty,
        top_k=args.top_k,
        upload_max_mb=args.upload_max_mb,
        grounding=index is not None,
    )


def build_demo(args: argparse.Namespace, engine=None, is_demo: bool = False) -> gr.Blocks:
    """Build the Gradio app for ``args`` (from :func:`parse_args`).

    ``engine`` (LocalEngine's chat interface) is loaded from ``args`` when not given; tests pass
    one to share a model across apps. The index comes from ``--index`` / ``--no-retrieval``.
    """
    if engine is None:
        engine, is_demo = load_engine(args)
    index, index_dir = open_index(args)
    service = build_service(args, engine, is_demo, index)
    sessions = None if index is None else session_indexes(args, index)
    files = DocumentsAndFiles(
        sessions, int(args.upload_max_mb * 1024 * 1024), public_name(engine.name), export_folder()
    )
    handlers = ChatHandlers(service, sessions)
    demo = build_blocks(page_defaults(args, service, index, index_dir), handlers, files)
    demo.queue(default_concurrency_limit=args.limits.max_concurrent, max_size=args.limits.max_queue)
    demo.medchat_engine = engine  # for tests and embedding: the engine this app serves
    demo.medchat_service = service
    demo.medchat_sessions = sessions  # the per-session document indexes (None without an index)
    demo.medchat_files = files
    return demo


def export_folder() -> Path:
    """The app's folder for exported conversations, removed at exit. It is in the system's temp
    folder, where Gradio serves files from; first, the temporary folders that killed runs left
    there and under the artifacts dir (an interrupted demo build) are removed (model/tempdirs.py)."""
    removed = remove_stale_temp_dirs(artifacts_dir()) + remove_stale_temp_dirs(tempfile.gettempdir())
    if removed:
        log.info("removed %d temporary folder(s) left by interrupted runs", len(removed))
    folder = make_temp_dir(tempfile.gettempdir(), "export")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def session_indexes(args: argparse.Namespace, index) -> SessionIndexes:
    """The bounded per-session document indexes over the shared ``index`` (retrieval/sessions.py)."""
    return SessionIndexes(
        index,
        max_chunks=args.session_max_chunks,
        max_bytes=int(args.session_max_mb * 2**20),
        max_total_bytes=int(args.sessions_max_mb * 2**20),
        idle_seconds=args.session_idle_minutes * 60,
    )


def launch_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments for ``demo.launch`` from the flags."""
    return {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share,
        "inbrowser": args.inbrowser,
        "auth": LoginGate(*args.auth).check if args.auth else None,  # failed logins slow down
        "max_file_size": int(args.upload_max_mb * 1024 * 1024),
        "show_error": True,
        "head": CONTENT_SECURITY_POLICY,  # no image from another origin (ui/messages.py)
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
