"""The record of one answer (what was asked, what the model received and said, on what grounds), and
the optional append-only JSONL log of them. Library module (no command of its own).

An ``AnswerRecord`` is made by model/service.py at the end of every turn; its ``id`` travels with
the answer (the app's chat message metadata, the API server's ``medchat.id``), and feedback on an
answer is looked up by that id, never by where the answer sits in a chat.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def now() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def public_name(name: str) -> str:
    """How a model is named to users and to clients without the API key: a local folder or file by
    its last part (its path stays on the server), a hub id or an endpoint's model name as it is."""
    path = Path(name).expanduser()
    return path.name if path.exists() else name


def public_description(engine) -> str:
    """``engine.describe()`` (model, precision, device) with local paths replaced by their names."""
    text = engine.describe()
    loaded = getattr(engine, "loaded", None)
    for name in (engine.name, getattr(loaded, "adapter", None)):
        if name:
            text = text.replace(str(name), public_name(str(name)))
    return text


def new_answer_id() -> str:
    return f"ans-{uuid.uuid4().hex}"


@dataclass
class Source:
    """One retrieved passage an answer was grounded on; ``number`` is its [n] in the prompt."""

    number: int
    source: str
    chunk_id: str
    score: float
    text: str

    @classmethod
    def from_hit(cls, number: int, hit) -> Source:
        return cls(number, hit.source, hit.chunk_id, float(hit.score), hit.text)


@dataclass
class AnswerRecord:
    """One answer and everything needed to rate it, regenerate it or audit it.

    ``conversation``: the messages as the user saw them, ending with the question (no system prompt,
    no grounding); ``prompt``: the messages the model received; ``reply``: the model's text (or the
    safety layer's refusal); ``safety``: the decision on the question (None when not checked);
    ``settings``: generation settings plus ``grounding`` and ``top_k``; ``finish_reason``: the
    engine's (stop | length | timeout | cancelled) or ``content_filter`` for a refusal, ``error``
    for a failed generation."""

    id: str
    session: str | None
    model: str
    conversation: list[dict]
    prompt: list[dict]
    reply: str
    sources: list[Source]
    safety: dict | None
    settings: dict
    finish_reason: str | None
    error: str | None = None
    seconds: float = 0.0
    time: str = field(default_factory=now)
    reasoning: str = ""  # what the model reasoned before ``reply`` (model/reasoning.py), "" when none

    @property
    def refused(self) -> bool:
        return bool(self.safety and self.safety.get("refuse"))

    def to_dict(self) -> dict:
        return asdict(self)

    def log_entry(self) -> dict:
        """The conversation-log line for this answer."""
        return {
            "id": self.id,
            "time": self.time,
            "session": self.session,
            "model": self.model,
            "settings": self.settings,
            "messages": self.conversation,
            "answer": self.reply,
            "reasoning": self.reasoning,
            "refused": self.refused,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "seconds": self.seconds,
            "sources": [s.source for s in self.sources],
        }


class ConversationLog:
    """Append-only JSONL log of answers; exists only when the operator asks for one."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, record: AnswerRecord) -> None:
        line = json.dumps(record.log_entry(), ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line)
