"""Files in and out of the chat app: documents added to a session's knowledge base, and
conversations exported and imported as JSON. Library module (app.py wires it).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from model.chat import content_text
from model.records import now
from retrieval.ingest import UploadError, check_upload
from retrieval.sessions import SessionLimitError
from ui.handlers import session_state
from ui.messages import from_inert, inert

CONVERSATION_FORMAT = "medchat.conversation/1"


class DocumentsAndFiles:
    """Upload and conversation-file handlers for one app. ``sessions``: the per-session document
    indexes (retrieval/sessions.py ``SessionIndexes`` over the shared index), or None without one."""

    def __init__(self, sessions, max_upload_bytes: int, model_name: str, export_dir: Path):
        self.sessions = sessions
        self.max_upload_bytes = max_upload_bytes
        self.model_name = model_name
        self.export_dir = export_dir  # model/tempdirs.py: removed at exit, or by the next start
        self._keys: dict[str, str] = {}  # Gradio session hash -> the session key its index is under
        self._exports: dict[str, Path] = {}  # Gradio session hash -> its latest export file
        self._keys_lock = threading.Lock()

    def add_documents(self, files, answers, request: gr.Request):
        """Check uploaded documents and add them to this session's bounded index (other sessions
        never see them); the index is released when the browser session closes or idles out."""
        if self.sessions is None:
            raise gr.Error("Grounding is off on this server (--no-retrieval): documents cannot be added.")
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            raise gr.Error("No file received.")
        docs, added, problems = [], [], []
        for path in paths:
            try:
                docs += check_upload(path, self.max_upload_bytes)
                added.append(Path(path).name)
            except UploadError as err:
                problems.append(str(err))
        if not docs:
            raise gr.Error("Nothing was added. " + " ".join(problems))
        answers = session_state(answers)
        key = answers["session"]
        with self._keys_lock:
            self._keys[request.session_hash] = key
        try:
            report = self.sessions.add_documents(key, docs)
        except SessionLimitError as err:
            raise gr.Error(f"Nothing was added: {err}.") from None
        lines = [
            f"Added {', '.join(added)} to this session's knowledge base: {report.added} new chunks "
            f"({report.duplicates} already present); {len(self.sessions.index_for(key))} chunks in all."
        ]
        lines += [f"Not added: {p}" for p in problems]
        return "\n\n".join(lines), answers

    def release(self, request: gr.Request) -> None:
        """The browser session closed (Gradio's unload): free its document index now."""
        with self._keys_lock:
            key = self._keys.pop(request.session_hash, None)
            export = self._exports.pop(request.session_hash, None)
        if key is not None and self.sessions is not None:
            self.sessions.close(key)
        if export is not None:
            export.unlink(missing_ok=True)

    def export_conversation(self, history, answers, request: gr.Request):
        """The conversation as a JSON file to download. Gradio serves a copy from its own cache,
        so a session keeps only its latest export here (the one before is deleted), and none once
        it closes."""
        if not history:
            raise gr.Error("The conversation is empty: nothing to export.")
        stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        path = self.export_dir / f"medchat-conversation-{stamp}.json"
        data = {"format": CONVERSATION_FORMAT, "exported_at": now(), "model": self.model_name}
        data["messages"] = [_exported(m) for m in history]
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        with self._keys_lock:
            previous = self._exports.get(request.session_hash)
            self._exports[request.session_hash] = path
        if previous is not None:
            previous.unlink(missing_ok=True)
        return str(path)

    def import_conversation(self, file):
        history = load_conversation(file, self.max_upload_bytes)
        return history, history, {}


def _exported(message: dict) -> dict:
    """A chat message for the export file: answers and notices as written, not as escaped for the page."""
    out = {k: v for k, v in message.items() if k in ("role", "content", "metadata") and v is not None}
    if out.get("role") == "assistant" and isinstance(out.get("content"), str):
        out["content"] = from_inert(out["content"])
    return out


def load_conversation(path: str | Path, max_bytes: int) -> list[dict]:
    """Read a conversation exported by the app (or a plain list of ``{role, content}`` messages).

    Raises ``gr.Error`` naming the problem (file, message number) for anything else. Answer ids are
    not imported: an imported answer has no record here to give feedback on."""
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
        text = content if isinstance(content, str) else content_text(content)
        item = {"role": message["role"], "content": inert(text) if message["role"] == "assistant" else text}
        metadata = message.get("metadata")
        title = metadata.get("title") if isinstance(metadata, dict) else None
        if title:
            item["metadata"] = {"title": str(title)}
        history.append(item)
    return history
