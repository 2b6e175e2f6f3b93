"""The chat service: one turn of a medical chat, from the user's message to a stored answer record,
with no web framework in it. The Gradio app (app.py) and the OpenAI-compatible API server
(model/server.py) are thin layers over it, so both apply the same rules with the same defaults.

A turn runs: limits (model/limits.py) -> safety (refusal, emergency notice) -> optional grounding
on a document index (retrieval/) -> generation through the engine's ``stream_chat`` (model/generate.py,
or model/client.py for a remote endpoint; the turn and its stream are model/turn.py's, the reply's
reasoning split from its answer by model/reasoning.py) -> an :class:`~model.records.AnswerRecord`
(id, prompt, reply, reasoning, sources, safety decision with the triage model's opinion joined,
settings), written to the conversation log when there is one -> feedback on that record
(training/feedback.py).

    service = ChatService(engine, index=index, feedback=FeedbackStore(path))
    turn = service.begin([{"role": "user", "content": "孩子发烧38.5度怎么办？"}], service.settings())
    if not turn.refused:
        for kind, text in turn.start().parts():   # kind: "reasoning" or "answer"
            print(text, end="")
    record = turn.record

Library module (no command of its own).
"""

from __future__ import annotations

import time

import safety
from model.feedback import AnswerFeedback, FeedbackError
from model.generate import GenerationSettings
from model.limits import ServingLimits
from model.records import AnswerRecord, ConversationLog, Source, new_answer_id
from model.turn import ServiceError, Turn, TurnStream, check_text, is_blank

__all__ = ["DEFAULT_SYSTEM_PROMPT", "ChatService", "ServiceError", "Turn", "TurnStream"]

DEFAULT_SYSTEM_PROMPT = (
    "你是 medchat，一个医疗健康信息助手。用用户的语言（中文或英文）清楚、谨慎地回答。"
    "你不是医生：不做诊断、不开处方；需要时建议就医，紧急情况建议立即拨打急救电话。\n"
    "You are medchat, a medical information assistant. Answer in the user's language, clearly and "
    "cautiously. You are not a doctor: do not diagnose or prescribe; advise seeing a clinician when "
    "needed and calling emergency services in an emergency."
)


class ChatService:
    """The serving rules for one engine: limits, safety, grounding, records and feedback.

    Args:
        engine: LocalEngine (model/generate.py) or OpenAIEngine (model/client.py).
        limits: size limits and reply-length cap (model/limits.py).
        index: a retrieval index to ground answers on (None: no grounding).
        feedback: a training.feedback.FeedbackStore (None: feedback is refused); at most
            ``limits.max_feedback_per_answer`` writes per answer (model/feedback.py).
        log: a conversation log written with every finished answer (None: nothing kept).
        system_prompt: put first in every prompt (None: the conversation's own).
        refuse_harmful: answer clearly harmful requests with the safety layer's refusal.
        is_demo: the engine is the offline demo model (its disclaimer says so).
        triage: a safety.triage.TriageCheck run beside generation (None: the rules alone decide).
    """

    def __init__(
        self,
        engine,
        limits: ServingLimits | None = None,
        *,
        index=None,
        feedback=None,
        log: ConversationLog | None = None,
        system_prompt: str | None = None,
        refuse_harmful: bool = True,
        is_demo: bool = False,
        triage=None,
    ):
        self.engine = engine
        self.limits = limits or ServingLimits()
        self.index, self.log = index, log
        self.feedback = (
            None if feedback is None else AnswerFeedback(feedback, self.limits.max_feedback_per_answer)
        )
        self.system_prompt = system_prompt or None
        self.refuse_harmful = refuse_harmful
        self.is_demo = is_demo
        self.triage = triage

    # ------------------------------------------------------------------------------ settings, limits

    def settings(self, temperature=None, top_p=None, max_new_tokens=None, repetition_penalty=None):
        """Generation settings from a request or the page; None takes the default. The reply length
        is capped by ``limits.max_new_tokens_cap`` and the time by ``limits.timeout_s``."""
        defaults = GenerationSettings()
        cap = self.limits.max_new_tokens_cap
        n = min(self.limits.default_max_new_tokens, cap) if max_new_tokens is None else max_new_tokens
        try:
            n = int(n)
            if n > cap:
                raise ServiceError(
                    f"max_new_tokens {n} is over this server's limit of {cap}.",
                    "invalid_setting",
                    "max_tokens",
                )
            return GenerationSettings(
                max_new_tokens=n,
                temperature=defaults.temperature if temperature is None else float(temperature),
                top_p=defaults.top_p if top_p is None else float(top_p),
                repetition_penalty=(
                    defaults.repetition_penalty if repetition_penalty is None else float(repetition_penalty)
                ),
                timeout_s=self.limits.timeout_s,
            )
        except (TypeError, ValueError) as err:
            if isinstance(err, ServiceError):
                raise
            raise ServiceError(f"Invalid generation setting: {err}", "invalid_setting") from None

    def check_limits(self, conversation: list[dict]) -> None:
        """Refuse an empty last message, a typed (user or system) message over the per-message
        limit, and a conversation over the total limit. ``param`` names the message."""
        limits = self.limits
        if not conversation or conversation[-1].get("role") != "user":
            raise ServiceError(
                "The last message must come from the user.", "invalid_conversation", "messages"
            )
        last = len(conversation) - 1
        for i, message in enumerate(conversation):
            check_text(message["content"], i, i == last)
        if is_blank(conversation[-1]["content"]):
            raise ServiceError(
                "The message is empty: type a question first.", "message_empty", f"messages.{last}.content"
            )
        total = 0
        for i, message in enumerate(conversation):
            size = len(message["content"])
            total += size
            if message["role"] != "assistant" and size > limits.max_message_chars:
                where = "The message" if i == last else f"Message {i + 1}"
                raise ServiceError(
                    f"{where} has {size:,} characters, over this server's limit of "
                    f"{limits.max_message_chars:,}: shorten it or split it up.",
                    "message_too_long",
                    f"messages.{i}.content",
                )
        if total > limits.max_conversation_chars:
            raise ServiceError(
                f"This conversation has {total:,} characters, over this server's limit of "
                f"{limits.max_conversation_chars:,}.",
                "conversation_too_long",
                "messages",
            )

    # ------------------------------------------------------------------------------ a turn

    def begin(
        self,
        conversation: list[dict],
        settings: GenerationSettings,
        *,
        grounding: bool = True,
        top_k: int = 3,
        index=None,
        session: str | None = None,
    ) -> Turn:
        """Check ``conversation`` (``[{"role", "content"}]`` ending with the user's question) and
        prepare its answer: safety decision, retrieved sources (from ``index``, default the
        service's, when ``grounding``) and the prompt. A refused turn is finished at once."""
        self.check_limits(conversation)
        question = conversation[-1]["content"]
        decision = safety.check(question, refuse_harmful=self.refuse_harmful)
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        prompt = system + [dict(m) for m in conversation]
        sources = []
        active = index if index is not None else self.index
        if grounding and active is not None and not decision.refuse and top_k > 0:
            from retrieval.ground import grounded_messages

            hits = active.search(question, k=int(top_k))
            if hits:
                prompt = grounded_messages(prompt, hits)
                sources = [Source.from_hit(n, hit) for n, hit in enumerate(hits, 1)]
        turn = Turn(
            id=new_answer_id(),
            session=session,
            conversation=[dict(m) for m in conversation],
            prompt=prompt,
            settings=settings,
            decision=decision,
            lang=decision.lang,
            sources=sources,
            top_k=int(top_k),
            service=self,
        )
        if turn.refused:
            turn.reply, turn.finish_reason = decision.refusal, "content_filter"
            self.finish(turn)
        elif self.triage is not None:  # the model's second opinion, beside generation
            turn.triage = self.triage.start(question, decision)
        return turn

    def regenerate(self, record: AnswerRecord, settings: GenerationSettings) -> Turn:
        """A new turn answering ``record``'s question again from the same prompt (same sources)."""
        if record.refused or record.error:
            raise ServiceError("Only a model answer can be regenerated.", "not_an_answer")
        return Turn(
            id=new_answer_id(),
            session=record.session,
            conversation=record.conversation,
            prompt=record.prompt,
            settings=settings,
            decision=None,
            lang=safety.detect_language(record.conversation[-1]["content"]),
            sources=record.sources,
            top_k=record.settings.get("top_k", 0),
            service=self,
        )

    def disclaimer(self, lang: str) -> str:
        """The standing disclaimer that closes every answer (the demo model's notice first)."""
        text = safety.disclaimer(lang)
        return f"{safety.DEMO_NOTICE[lang]}\n\n{text}" if self.is_demo else text

    def finish(self, turn: Turn) -> AnswerRecord:
        """Make ``turn``'s record (once) and write it to the conversation log."""
        if turn.triage is not None:  # its answer (or none, by its deadline) joins the decision
            from safety.triage import combine

            turn.decision, turn.triage = combine(turn.decision, turn.triage.result()), None
        if turn.record is None:
            settings = {**turn.settings.to_dict(), "grounding": bool(turn.sources), "top_k": turn.top_k}
            turn.record = AnswerRecord(
                id=turn.id,
                session=turn.session,
                model=self.engine.name,
                conversation=turn.conversation,
                prompt=turn.prompt,
                reply=turn.reply,
                reasoning=turn.reasoning.strip(),
                sources=turn.sources,
                safety=turn.decision.to_dict() if turn.decision else None,
                settings=settings,
                finish_reason=turn.finish_reason,
                error=turn.error,
                seconds=round(time.perf_counter() - turn.started, 3),
            )
            if self.log is not None:
                self.log.write(turn.record)
        return turn.record

    # ------------------------------------------------------------------------------ feedback

    def _feedback(self) -> AnswerFeedback:
        if self.feedback is None:
            raise ServiceError("Feedback is not collected on this server.", "feedback_off")
        return self.feedback

    def rate(self, record: AnswerRecord, liked: bool) -> int:
        """Thumbs up (``liked``) or down on the answer ``record``; returns the stored row id."""
        try:
            return self._feedback().rate(record, liked)
        except FeedbackError as err:
            raise ServiceError(err.message, err.code) from None

    def prefer(self, chosen: AnswerRecord, rejected: AnswerRecord, first: AnswerRecord) -> int:
        """Store that the user preferred ``chosen`` over ``rejected`` (``first`` was shown first)."""
        try:
            return self._feedback().prefer(chosen, rejected, first)
        except FeedbackError as err:
            raise ServiceError(err.message, err.code) from None
