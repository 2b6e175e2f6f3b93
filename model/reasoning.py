"""A reply's reasoning split from its answer, while it streams: ``<think>…</think>answer``
(DeepSeek-R1 / Qwen3 style; with ``opened=True`` when the prompt itself opened the tag) and
HuatuoGPT-o1's ``## Thinking`` … ``## Final Response`` … headings.

The serving path (model/service.py) feeds the engine's text pieces through a
:class:`ReasoningSplitter` so the app can show the reasoning in a collapsed "Thinking" block and
the API server can send it as ``reasoning_content``, while only the answer goes back into the
conversation. evaluation/answers.py scores reasoning models on the final answer with the same
headings (``FINAL_HEADING``, ``THINKING_HEADING``). Reasoning is recognised only at the start of
a reply: a ``<think>`` in the middle of an answer is the answer's text.

    splitter = ReasoningSplitter()
    for piece in ["<thi", "nk>Fever is", " common.</th", "ink>\\n\\nRest and drink water."]:
        for kind, text in splitter.feed(piece):   # kind: "reasoning" or "answer"
            print(kind, repr(text))
    splitter.finish()

Library module (no command of its own).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from model.chat import THINK_CLOSE, THINK_OPEN

FINAL_HEADING = re.compile(
    r"^\s*#{1,6}\s*(?:final\s+response|final\s+answer|最终回答|最终答案)\s*[:：]?\s*$", re.I | re.M
)
THINKING_HEADING = re.compile(r"^\s*#{1,6}\s*(?:thinking|思考(?:过程)?)\s*[:：]?\s*$", re.I | re.M)

REASONING, ANSWER = "reasoning", "answer"
HELD = "held"  # model/turn.py: a piece arrived, but all of it is held back for now
_THINKING_WORDS = ("thinking", "思考过程")
MAX_LEADING_SPACE = 16  # whitespace held back at the start, waiting for a marker; beyond it: answer
_FINAL_WORDS = ("final response", "final answer", "最终回答", "最终答案")


def _may_become(line: str, words: tuple[str, ...]) -> bool:
    """Whether an unfinished ``line`` can still turn into a heading ``# <word>`` (so it is held
    back); any other line is shown at once."""
    head = line.lstrip()
    hashes = len(head) - len(head.lstrip("#"))
    if not 1 <= hashes <= 6:
        return False
    rest = " ".join(head[hashes:].lower().split()).rstrip(":：").rstrip()
    return any(word.startswith(rest) for word in words)


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest end of ``text`` that is a proper beginning of ``marker``."""
    for n in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


class ReasoningSplitter:
    """Streaming splitter: ``feed(piece)`` returns ``[(kind, text)]`` ready to show (text that
    might still turn out to be a marker is held back), ``finish()`` the rest. ``reasoning`` and
    ``answer`` accumulate everything returned; ``closed`` tells whether the reasoning ended (a
    reply cut off while still reasoning has no answer)."""

    def __init__(self, opened: bool = False):
        self.mode = "tag" if opened else "start"  # start | tag | heading | answer
        self.reasoning = ""
        self.answer = ""
        self.had_reasoning = opened
        self.closed = not opened
        self._buf = ""
        self._answer_started = False  # whitespace right after the reasoning is dropped

    def feed(self, piece: str) -> list[tuple[str, str]]:
        self._buf += piece
        out: list[tuple[str, str]] = []
        while self._buf:
            before = (self.mode, len(self._buf))
            getattr(self, f"_{self.mode}")(out, final=False)
            if (self.mode, len(self._buf)) == before:
                break  # waiting for more text
        return out

    def finish(self) -> list[tuple[str, str]]:
        """Everything still held back, at the end of the reply."""
        out: list[tuple[str, str]] = []
        while self._buf:
            getattr(self, f"_{self.mode}")(out, final=True)
        return out

    # -------------------------------------------------------------------------------- modes
    def _emit(self, out, kind: str, text: str) -> None:
        if kind == ANSWER and not self._answer_started:
            text = text.lstrip() if self.had_reasoning else text
            self._answer_started = bool(text)
        if not text:
            return
        if kind == REASONING:
            self.reasoning += text
        else:
            self.answer += text
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))

    def _start(self, out, final: bool) -> None:
        """Decide, from the reply's first line, whether it opens with reasoning."""
        head = self._buf.lstrip()
        if head.startswith(THINK_OPEN):
            self._buf = head[len(THINK_OPEN) :]
            self.mode, self.had_reasoning, self.closed = "tag", True, False
        elif head.startswith("#") and ("\n" in head or final):
            line, _, rest = head.partition("\n")
            if THINKING_HEADING.fullmatch(line):
                self._buf = rest
                self.mode, self.had_reasoning, self.closed = "heading", True, False
            else:
                self.mode = "answer"
        elif (
            final
            or len(self._buf) - len(head) > MAX_LEADING_SPACE
            or not (head == "" or THINK_OPEN.startswith(head) or _may_become(head, _THINKING_WORDS))
        ):
            self.mode = "answer"

    def _tag(self, out, final: bool) -> None:
        text, sep, rest = self._buf.partition(THINK_CLOSE)
        if sep:
            self._emit(out, REASONING, text)
            self._buf, self.mode, self.closed = rest, "answer", True
            return
        keep = 0 if final else _partial_suffix(text, THINK_CLOSE)
        self._emit(out, REASONING, text[: len(text) - keep])
        self._buf = text[len(text) - keep :]

    def _heading(self, out, final: bool) -> None:
        lines = self._buf.split("\n")
        last = lines.pop()  # the line not yet ended
        for i, line in enumerate(lines):
            if FINAL_HEADING.fullmatch(line):
                self._buf, self.mode, self.closed = "\n".join(lines[i + 1 :] + [last]), "answer", True
                return
            self._emit(out, REASONING, line + "\n")
        if final and FINAL_HEADING.fullmatch(last):
            self._buf, self.mode, self.closed = "", "answer", True
        elif final or not _may_become(last, _FINAL_WORDS):
            self._emit(out, REASONING, last)
            self._buf = ""
        else:
            self._buf = last  # might be the "## Final Response" line

    def _answer(self, out, final: bool) -> None:
        self._emit(out, ANSWER, self._buf)
        self._buf = ""


class Split(NamedTuple):
    """A whole reply split: ``reasoning`` (stripped, "" when none), ``answer`` and ``closed``
    (False: the reply stopped while still reasoning)."""

    reasoning: str
    answer: str
    closed: bool


def split_reasoning(reply: str, opened: bool = False) -> Split:
    """Split a whole reply the way :class:`ReasoningSplitter` splits it while streaming."""
    splitter = ReasoningSplitter(opened)
    splitter.feed(reply)
    splitter.finish()
    return Split(splitter.reasoning.strip(), splitter.answer, splitter.closed)


def prompt_opens_reasoning(prompt_text: str) -> bool:
    """True when a rendered prompt ends inside an open ``<think>`` (the template opened it)."""
    text = prompt_text.rstrip()
    return text.endswith(THINK_OPEN)
