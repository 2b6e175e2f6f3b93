"""One turn of model/service.py's ChatService: the question being answered (:class:`Turn`) and the
reply as it streams (:class:`TurnStream`), with the reply's reasoning split from its answer
(model/reasoning.py): ``turn.reasoning`` and ``turn.reply`` (the answer only, which is what goes
back into the conversation). Library module (no command of its own).
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import safety
from model.chat import ChatFormatError, PromptTooLong
from model.generate import GenerationError, GenerationSettings
from model.reasoning import ANSWER, HELD, REASONING, ReasoningSplitter, prompt_opens_reasoning
from model.records import AnswerRecord, Source

__all__ = ["ANSWER", "HELD", "REASONING", "ServiceError", "Turn", "TurnStream", "check_text", "is_blank"]


class ServiceError(ValueError):
    """A turn the service will not run; ``message`` is for the user, ``code`` for programs
    (message_empty, message_too_long, conversation_too_long, invalid_setting,
    context_length_exceeded, invalid_conversation) and ``param`` names the offending field."""

    def __init__(self, message: str, code: str, param: str | None = None):
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


def is_blank(text: str) -> bool:
    """Nothing to answer: only whitespace and invisible format characters (zero-width space,
    joiners, byte-order mark: Unicode category Cf)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def check_text(text: str, i: int, is_last: bool) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate), which no tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        where = "The message" if is_last else f"Message {i + 1}"
        raise ServiceError(
            f"{where} is not valid Unicode text: a lone surrogate (U+{ord(text[err.start]):04X}) at "
            f"character {err.start}. Paste it again or retype it.",
            "invalid_text",
            f"messages.{i}.content",
        ) from None


@dataclass
class Turn:
    """One question being answered. ``prompt`` is what the model receives (system prompt and
    grounding included); ``conversation`` what the user sent. After generation (or for a refusal,
    at once) ``record`` holds the :class:`AnswerRecord`. ``reply`` is the answer, ``reasoning``
    the reasoning the model wrote before it ("" when none)."""

    id: str
    session: str | None
    conversation: list[dict]
    prompt: list[dict]
    settings: GenerationSettings
    decision: safety.SafetyDecision | None
    lang: str
    sources: list[Source]
    top_k: int
    reply: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    error: str | None = None
    context_notice: str | None = None
    record: AnswerRecord | None = None
    started: float = field(default_factory=time.perf_counter)
    service: object | None = field(default=None, repr=False)  # the model.service.ChatService running it
    triage: object | None = field(default=None, repr=False)  # safety.triage.PendingTriage, when one runs

    @property
    def refused(self) -> bool:
        return bool(self.decision and self.decision.refuse)

    @property
    def emergency_notice(self) -> str | None:
        """The emergency guidance (call 120 / 112 / 911), or None: the rules' before generation,
        with the triage model's opinion joined once the turn is finished."""
        d = self.decision
        return d.notice if d is not None and d.emergency and d.notice else None

    @property
    def triage_notice(self) -> str | None:
        """The emergency notice that only the triage model raised (the rules saw none), known once
        the turn is finished; None when the check agreed, failed, timed out or did not run."""
        triage = self.decision.triage if self.decision is not None else None
        if triage and triage.get("emergency") and not triage.get("agrees"):
            return self.emergency_notice
        return None

    def start(self, cancel: threading.Event | None = None) -> TurnStream:
        """Start generating; iterate the result for the answer's text pieces (or ``parts()`` for
        reasoning and answer). Raises :class:`ServiceError` when the prompt does not fit or cannot
        be rendered."""
        if self.refused:
            raise RuntimeError("a refused turn is answered by the safety layer, not generated")
        try:
            fitted, stream = self.service.engine.stream_chat(self.prompt, self.settings, cancel)
        except PromptTooLong as err:
            raise ServiceError(str(err), "context_length_exceeded", "messages") from None
        except ChatFormatError as err:
            raise ServiceError(str(err), "invalid_conversation", "messages") from None
        except GenerationError as err:  # a remote engine that refused or is unreachable
            self.error, self.finish_reason = str(err), "error"
            self.service.finish(self)
            raise
        self.context_notice = fitted.notice
        return TurnStream(self, stream, ReasoningSplitter(prompt_opens_reasoning(fitted.text)))


class TurnStream:
    """The reply as the engine streams it, split into reasoning and answer; whatever way iteration
    ends (done, error, the consumer closing it early), the turn is finished and its record made.
    ``stream`` is the engine's own stream (token counts, ``cancel()``)."""

    def __init__(self, turn: Turn, stream, splitter: ReasoningSplitter):
        self.turn, self.stream, self.splitter = turn, stream, splitter

    def cancel(self) -> None:
        self.stream.cancel()

    def __iter__(self) -> Iterator[str]:
        """The answer's text pieces (the reasoning is kept in ``turn.reasoning``)."""
        return (text for kind, text in self.parts() if kind == ANSWER)

    def parts(self) -> Iterator[tuple[str, str]]:
        """``(kind, text)`` pieces, kind ``"reasoning"`` or ``"answer"``, in the order written, and
        ``("held", "")`` for a piece the splitter holds back whole (it may begin a marker), so a
        consumer still wakes at every piece (a Gradio handler can only be stopped when it yields)."""
        pieces = iter(self.stream)
        turn = self.turn
        try:
            for piece in pieces:
                yield from self._take(self.splitter.feed(piece)) or [(HELD, "")]
            yield from self._take(self.splitter.finish())
        except GenerationError as err:
            turn.error = str(err)
            raise
        finally:
            if hasattr(pieces, "close"):
                pieces.close()  # a consumer that stopped early stops the model too
            turn.finish_reason = "error" if turn.error else (self.stream.finish_reason or "cancelled")
            turn.service.finish(turn)

    def _take(self, parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for kind, text in parts:
            if kind == REASONING:
                self.turn.reasoning += text
            else:
                self.turn.reply += text
        return parts
