"""The low-level pieces of streaming generation (model/generate.py's ``TextStream``): the stopping
criterion that watches for cancel and timeout, the token queue the generating thread fills, the
incremental decoder the consuming thread reads it with, and holding back a possible stop string.
Library module (no command of its own).
"""

from __future__ import annotations

import threading
import time


def monitor_criteria(prompt_len: int, cancel: threading.Event, deadline: float, state: dict):
    """A stopping criterion that records progress and stops on cancel or timeout."""
    import torch
    from transformers import StoppingCriteria

    class Monitor(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            state["completion_tokens"] = input_ids.shape[1] - prompt_len
            if state["first_token_at"] is None:
                state["first_token_at"] = time.perf_counter()
            if cancel.is_set():
                state["stopped_by"] = "cancelled"
            elif time.perf_counter() > deadline:
                state["stopped_by"] = "timeout"
            done = state["stopped_by"] is not None
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    return Monitor()


def split_at_partial_stop(text: str, stops: list[str]) -> tuple[str, str]:
    """Split ``text`` into (safe to show, held back): the held part is the longest suffix that
    begins some stop string, so a stop string split across pieces is never shown."""
    for k in range(min(len(text), max((len(s) for s in stops), default=1) - 1), 0, -1):
        if any(s.startswith(text[-k:]) for s in stops):
            return text[:-k], text[-k:]
    return text, ""


class TokenQueue:
    """The streamer ``model.generate`` feeds. ``put`` only records the new token ids (the first call,
    the prompt, is skipped) and wakes the consumer if it is waiting; decoding is the consumer's job,
    so the generating thread pays almost nothing per token."""

    def __init__(self):
        self.ids: list[int] = []
        self.ended = threading.Event()
        self._prompt_seen = False
        self._waiting = False
        self._wake = threading.Event()

    @property
    def done(self) -> bool:
        return self.ended.is_set()

    def put(self, value) -> None:
        if value.dim() > 1:
            if value.shape[0] > 1:
                raise ValueError("streaming generation supports one sequence at a time (batch size 1)")
            value = value[0]
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.ids.extend(value.tolist())
        if self._waiting:
            self._wake.set()

    def end(self) -> None:
        self.ended.set()
        self._wake.set()

    def wait(self, seen: int, timeout: float) -> bool:
        """Block until there are more than ``seen`` ids or the stream has ended; False on timeout.

        Safe without a lock: ``put`` appends before it reads ``_waiting``, and this sets
        ``_waiting`` before it reads the length, so a token is never missed."""
        self._waiting = True
        try:
            while len(self.ids) <= seen and not self.done:
                if not self._wake.wait(timeout):
                    return False
                self._wake.clear()
        finally:
            self._waiting = False
        return True


class IncrementalDecoder:
    """Turns a growing list of token ids into text pieces whose concatenation equals decoding all ids.

    Each step decodes only a short window (the ids since the previous step, with the step before
    as context, so word-initial spaces and merges render as in the full text) and holds back a
    trailing U+FFFD, the sign of a multi-byte character split across tokens, until the rest
    arrives or the stream ends."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.prefix = 0  # window start (context)
        self.read = 0  # ids already turned into text
        self.emitted = 0  # characters emitted so far

    def _decode(self, ids) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def step(self, ids: list[int], upto: int, final: bool) -> str:
        if upto <= self.read:
            return ""
        before = self._decode(ids[self.prefix : self.read])
        after = self._decode(ids[self.prefix : upto])
        if not final and after.endswith("\ufffd"):
            return ""
        if after.startswith(before):
            new = after[len(before) :]
        else:  # the window rendered differently from the whole: fall back to the full text
            new = self._decode(ids[:upto])[self.emitted :]
        self.prefix, self.read = self.read, upto
        self.emitted += len(new)
        return new
