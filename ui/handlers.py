"""The chat app's event handlers: a thin Gradio layer over model/service.py's ChatService.

``respond`` streams one turn into the chat; ``rate`` (thumbs), ``compare`` and ``pick``
(regenerate and choose) give feedback on an answer found by the answer id its chat message
carries (``metadata.id``), looked up in the session's records (a ``gr.State``:
``{"session": id, "records": {answer id: AnswerRecord}}``). Library module (app.py wires it).
"""

from __future__ import annotations

import logging
import time
import uuid

import gradio as gr

from model.chat import content_text, history_to_messages
from model.generate import GenerationError
from model.service import ChatService, ServiceError
from ui.messages import (
    EMERGENCY_TITLE,
    TRIAGE_EMERGENCY_TITLE,
    answer_message,
    disclaimer_message,
    error_notice,
    from_inert,
    last_answer,
    message_index,
    notice,
    rated_answer,
    sources_message,
    thinking_message,
)

log = logging.getLogger("medchat.app")

# What the page adds to the service's message, per error code.
_HINTS = {"conversation_too_long": " Clear it (🗑) or export it and start a new one."}


def _error(err: ServiceError) -> gr.Error:
    return gr.Error(err.message + _HINTS.get(err.code, ""))


def session_state(answers) -> dict:
    """A copy of the session's state (Gradio hands handlers a value they must not mutate)."""
    answers = dict(answers or {})
    answers.setdefault("session", uuid.uuid4().hex)
    answers["records"] = dict(answers.get("records") or {})
    return answers


class _Thought:
    """The turn's reasoning (a collapsed Thinking block, timed until the answer began) and its
    answer, as chat messages; the answer appears once it has text, or when the turn is done."""

    def __init__(self, turn):
        self.turn, self.seconds = turn, None

    def messages(self, done: bool = False) -> list[dict]:
        turn = self.turn
        if self.seconds is None and (turn.reply or done):
            self.seconds = time.perf_counter() - turn.started
        out = [thinking_message(turn.reasoning, self.seconds)] if turn.reasoning.strip() else []
        if turn.reply or done or not out:
            out.append(answer_message(turn.reply, turn.id))
        return out


class ChatHandlers:
    """The handlers for one app; ``service`` holds every serving rule."""

    def __init__(self, service: ChatService, sessions=None):
        self.service = service
        self.sessions = sessions  # retrieval/sessions.py SessionIndexes (None: no grounding)

    def _stream(self, turn):
        """Yield ``(notices, error notice or None)`` while ``turn`` generates into ``turn.reply``;
        the last item carries the notices known only at the end (timeout)."""
        try:
            stream = turn.start()
        except ServiceError as err:
            raise _error(err) from None
        except GenerationError as err:  # a remote engine that refused or is unreachable
            log.error("generation failed: %s", err)
            yield [], error_notice(err)
            return
        notices = [notice("✂️ Context shortened", turn.context_notice)] if turn.context_notice else []
        pieces = stream.parts()
        try:
            for _ in pieces:
                yield notices, None
        except GenerationError as err:
            log.exception("generation failed")
            yield notices, error_notice(err)
            return
        finally:
            pieces.close()  # a closed generator (Stop button, client gone) stops the model too
        if turn.finish_reason == "timeout":
            limit = self.service.limits.timeout_s
            cut = f"The answer was cut at the {limit:g}-second generation limit (finish_reason: timeout)."
            notices = notices + [notice("⏱️ Stopped", cut)]
        yield notices, None

    def respond(
        self, message, history, temperature, top_p, max_new_tokens, repetition_penalty, grounding, top_k,
        answers,
    ):  # fmt: skip
        """Answer ``message`` given the visible ``history``; yields the growing list of new messages
        and the session state (with the answer's record once it is complete)."""
        answers = session_state(answers)
        shown = history_to_messages(history)  # answers as shown: inert, undone for the model
        conversation = [
            {**m, "content": from_inert(m["content"])} if m["role"] == "assistant" else m for m in shown
        ] + [{"role": "user", "content": content_text(message).strip()}]
        try:
            settings = self.service.settings(temperature, top_p, max_new_tokens, repetition_penalty)
            turn = self.service.begin(
                conversation, settings, grounding=bool(grounding), top_k=int(top_k),
                index=self._index(answers["session"]), session=answers["session"],
            )  # fmt: skip
        except ServiceError as err:
            raise _error(err) from None
        head = [notice(EMERGENCY_TITLE, turn.emergency_notice)] if turn.emergency_notice else []
        footer = [disclaimer_message(self.service.disclaimer(turn.lang), turn.lang)]
        if turn.refused:
            answers["records"][turn.id] = turn.record
            yield head + [answer_message(turn.reply, turn.id)] + footer, answers
            return
        tail = ([sources_message(turn.sources)] if turn.sources else []) + footer
        thought = _Thought(turn)
        out = head
        for notices, error in self._stream(turn):
            out = head + notices + thought.messages()
            if error is not None:
                yield out + [error] + tail, answers
                return
            yield out + tail, answers
        answers["records"][turn.id] = turn.record
        out = head + notices + thought.messages(done=True)
        if turn.triage_notice:  # the triage model's second opinion, known once the turn finished
            out.append(notice(TRIAGE_EMERGENCY_TITLE, turn.triage_notice))
        yield out + tail, answers

    def _index(self, session: str):
        """The session's own index once it uploaded documents, else the shared one (None: none)."""
        return None if self.sessions is None else self.sessions.index_for(session)

    def rate(self, history, answers, data: gr.LikeData):
        """Thumbs up/down on an answer -> one rating row in the feedback store."""
        if data.liked not in (True, False, "Like", "Dislike"):
            return  # a thumb taken back
        index = data.index if isinstance(data.index, int) else -1
        record = rated_answer(history, index, (answers or {}).get("records") or {})
        try:
            if record is None:
                raise ServiceError("Feedback is recorded for model answers only.", "not_an_answer")
            self.service.rate(record, liked=data.liked in (True, "Like"))
        except ServiceError as err:
            gr.Info(err.message)
            return
        gr.Info("Thanks: your rating was saved.")

    def compare(self, history, answers, temperature, top_p, max_new_tokens, repetition_penalty):
        """Regenerate the last answer with sampling and show both, for the user to pick the better one."""
        record = last_answer(history, (answers or {}).get("records") or {})
        try:
            settings = self.service.settings(temperature, top_p, max_new_tokens, repetition_penalty)
            turn = self.service.regenerate(record, settings)
        except ServiceError as err:
            raise _error(err) from None
        note = ""
        if settings.temperature == 0:  # greedy decoding would reproduce the same answer
            settings.temperature = 0.7
            note = " (sampled at temperature 0.7: greedy decoding would repeat answer A)"
        pending = {"a": record.id, "b": None}
        locked = (gr.update(interactive=False), gr.update(interactive=False))
        for _, error in self._stream(turn):
            if error is not None:
                yield record.reply, turn.reply, error["content"], None, *locked
                return
            yield record.reply, turn.reply, f"Generating answer B{note}…", pending, *locked
        pending = {**pending, "b": turn.record}
        unlocked = (gr.update(interactive=True), gr.update(interactive=True))
        yield record.reply, turn.reply, f"Which answer is better?{note}", pending, *unlocked

    def pick(self, choice, history, answers, pending):
        """Store the user's choice between answers A and B; B replaces A in the chat when chosen."""
        if not pending or pending.get("b") is None:
            raise gr.Error("Generate an alternative answer first (Regenerate to compare).")
        answers = session_state(answers)
        a, b = answers["records"].get(pending["a"]), pending["b"]
        index = message_index(history, pending["a"])
        if a is None or index is None:
            raise gr.Error("The conversation changed since the comparison was generated: compare again.")
        chosen, rejected = (a, b) if choice == "A" else (b, a)
        try:
            self.service.prefer(chosen, rejected, first=a)
        except ServiceError as err:
            raise _error(err) from None
        history = list(history)
        if choice == "B":
            history[index] = answer_message(b.reply, b.id)
            answers["records"][b.id] = b
        status = f"Saved: answer {choice} preferred." + (
            " It now replaces A in the chat." if choice == "B" else ""
        )
        locked = gr.update(interactive=False)
        return history, history, answers, None, status, locked, locked
