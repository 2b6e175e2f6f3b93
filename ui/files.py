"""Files in and out of the chat app: documents added to a session's knowledge base, and
conversations exported and imported as JSON. Library module (app.py wires it).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr

from model.chat import content_text
from model.records import now
from retrieval.ingest import UploadError, check_upload
from ui.messages import from_inert, inert

CONVERSATION_FORMAT = "medchat.conversation/1"


class DocumentsAndFiles:
    """Upload and conversation-file handlers for one app (``index``: the shared index or None)."""

    def __init__(self, index, max_upload_bytes: int, model_name: str):
        self.index = index
        self.max_upload_bytes = max_upload_bytes
        self.model_name = model_name
        self.export_dir = Path(tempfile.mkdtemp(prefix="medchat-export-"))

    def add_documents(self, files, session_index):
        """Check uploaded documents and add them to this session's copy of the index."""
        if self.index is None:
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
        # The first upload of a session copies the shared index: other sessions never see these files.
        session_index = session_index if session_index is not None else self.index.copy()
        report = session_index.add_documents(docs)
        lines = [
            f"Added {', '.join(added)} to this session's knowledge base: {report.added} new chunks "
            f"({report.duplicates} already present); {len(session_index)} chunks in all."
        ]
        lines += [f"Not added: {p}" for p in problems]
        return "\n\n".join(lines), session_index

    def export_conversation(self, history, answers):
        if not history:
            raise gr.Error("The conversation is empty: nothing to export.")
        stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        path = self.export_dir / f"medchat-conversation-{stamp}.json"
        data = {"format": CONVERSATION_FORMAT, "exported_at": now(), "model": self.model_name}
        data["messages"] = [_exported(m) for m in history]
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
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
