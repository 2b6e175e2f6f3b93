"""Feedback on answer records (model/records.py): thumbs and regenerate-and-pick comparisons, written
to training/feedback.py's SQLite store, at most ``max_per_answer`` writes per answer (a script
clicking a thumb in a loop stores a few rows, not thousands). Library module (model/service.py
``ChatService.rate`` / ``.prefer`` use it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from model.records import AnswerRecord

TRACKED_ANSWERS = 100_000  # answers whose write counts are remembered (oldest forgotten first)


class FeedbackError(ValueError):
    """Feedback the rules refuse; ``message`` is for the user, ``code`` for programs."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


class AnswerFeedback:
    """Feedback on answers into ``store`` (a ``training.feedback.FeedbackStore``)."""

    def __init__(self, store, max_per_answer: int):
        self.store, self.max_per_answer = store, max_per_answer
        self._writes: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def _count(self, answer_id: str) -> None:
        """Count one write on ``answer_id``; refuse it past ``max_per_answer``."""
        with self._lock:
            done = self._writes.get(answer_id, 0)
            if done >= self.max_per_answer:
                raise FeedbackError(
                    f"This answer already has {done} feedback entries, the most kept for one answer: "
                    "your earlier ones are saved.",
                    "feedback_limit",
                )
            self._writes[answer_id] = done + 1
            self._writes.move_to_end(answer_id)
            while len(self._writes) > TRACKED_ANSWERS:
                self._writes.popitem(last=False)

    def rate(self, record: AnswerRecord, liked: bool) -> int:
        """Thumbs up (``liked``) or down on the answer ``record``; returns the stored row id."""
        if record.error or record.refused:
            raise FeedbackError("Feedback is recorded for model answers only.", "not_an_answer")
        self._count(record.id)
        return self.store.add_rating(
            prompt=record.prompt,
            answer=record.reply,
            rating=1 if liked else -1,
            model=record.model,
            settings=record.settings,
            conversation=record.conversation,
            session=record.session,
        )

    def prefer(self, chosen: AnswerRecord, rejected: AnswerRecord, first: AnswerRecord) -> int:
        """Store that the user preferred ``chosen`` over ``rejected``, two answers to one prompt;
        ``first`` is the one shown first (its settings are stored as ``a``)."""
        if chosen.prompt != rejected.prompt:
            raise FeedbackError("These two answers do not answer the same prompt.", "not_comparable")
        self._count(first.id)
        second = rejected if first is chosen else chosen
        return self.store.add_comparison(
            prompt=first.prompt,
            chosen=chosen.reply,
            rejected=rejected.reply,
            model=first.model,
            settings={"a": first.settings, "b": second.settings},
            conversation=first.conversation,
            session=first.session,
        )
