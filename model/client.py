"""An OpenAI-compatible endpoint (our model.server, vLLM, OpenAI, ...) behind LocalEngine's chat methods.

``OpenAIEngine`` talks to ``/v1/chat/completions`` through the official ``openai`` client, so the
app, evaluation's ``--base-url`` mode and datagen can use a remote model exactly like an in-process
one: ``.chat(messages, settings) -> str``, ``.stream_chat(messages, settings, cancel) -> (prompt,
stream)`` whose stream yields text pieces and then reports ``finish_reason``, ``.chat_batch``,
``.name`` and ``.describe()``.

Retries: the openai client itself retries 408, 409, 429 and every 5xx answer, and connection
errors, with exponential backoff (0.5 s doubling up to 8 s, with jitter) and honours the server's
``Retry-After`` header; ``max_retries`` sets how many times. Timeouts: each request is bounded by
``settings.timeout_s`` (plus a little for the connection); a stream also stops at that wall-clock
deadline with ``finish_reason`` "timeout", as a local one does.

Our own server (model.server) may put an emergency notice in front of the reply, and says exactly
what it added in its ``medchat`` field (``added_text.prefix``). Callers of this engine run the same
safety layer themselves (the app shows its notice above the answer) or want the model's words only
(datagen, evaluation), so the engine takes off exactly that prefix, no more and no less (never by
matching the text), and keeps the notice in ``server_notice`` (the structured
``medchat["emergency_notice"]``, with the whole decision in ``medchat["safety"]`` and the sources
of a grounded answer in ``medchat["sources"]``); the CLI below prints it first.

    python -m model.client --base-url http://127.0.0.1:8000/v1 --api-model medchat "发烧了怎么办？"
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from model.chat import THINK_CLOSE, THINK_OPEN, ChatFormatError, FittedPrompt, PromptTooLong
from model.generate import GenerationError, GenerationSettings

# OpenAI's finish reasons mapped onto LocalEngine's (stop | length | timeout | cancelled);
# content_filter (our server's safety refusal) is kept as is.
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


class RemoteError(GenerationError):
    """The endpoint failed (after retries): authentication, unknown model, overload, server error,
    unreachable. The message names the endpoint, the HTTP status and the server's own message."""


def _translate(err: Exception, base_url: str) -> Exception:
    """openai exceptions -> the errors LocalEngine callers already handle."""
    import openai

    if isinstance(err, openai.BadRequestError):
        body = err.body if isinstance(err.body, dict) else {}
        message = body.get("message") or str(err)
        if body.get("code") == "context_length_exceeded":
            return PromptTooLong(message)
        return ChatFormatError(message)
    if isinstance(err, openai.APIStatusError):
        body = err.body if isinstance(err.body, dict) else {}
        message = body.get("message") or err.message
        return RemoteError(f"{base_url} answered HTTP {err.status_code}: {message}")
    if isinstance(err, openai.APITimeoutError):
        return RemoteError(f"{base_url} did not answer in time")
    if isinstance(err, openai.APIConnectionError):
        return RemoteError(f"cannot reach {base_url}: {err.__cause__ or err}")
    return err


def _added_prefix(medchat) -> str:
    """The text our server reports having put in front of the model's reply ("" when none)."""
    added = medchat.get("added_text") if isinstance(medchat, dict) else None
    prefix = added.get("prefix") if isinstance(added, dict) else None
    return prefix if isinstance(prefix, str) else ""


def _added_suffix(medchat) -> str:
    """The text our server reports having put after the model's reply (a notice only its triage
    model raised; "" when none)."""
    added = medchat.get("added_text") if isinstance(medchat, dict) else None
    suffix = added.get("suffix") if isinstance(added, dict) else None
    return suffix if isinstance(suffix, str) else ""


def strip_added(text: str, medchat, base_url: str) -> str:
    """``text`` without the prefix and suffix the server says it added; a reply that does not
    carry them is the server breaking its own contract, reported as a RemoteError."""
    prefix, suffix = _added_prefix(medchat), _added_suffix(medchat)
    if not text.startswith(prefix):
        raise RemoteError(f"{base_url} reported adding {prefix!r} in front of the reply, but did not")
    if not text[len(prefix) :].endswith(suffix):
        raise RemoteError(f"{base_url} reported adding {suffix!r} after the reply, but did not")
    return text[len(prefix) : len(text) - len(suffix)]


class RemoteStream:
    """Text pieces of one streamed reply, with the attributes of model.generate.TextStream.

    The request is sent on construction (so a bad request fails at ``stream_chat``, as a prompt
    that is too long does locally). ``finish_reason`` is stop | length | timeout | cancelled |
    content_filter once iteration ends; ``prompt_tokens`` / ``completion_tokens`` come from the
    server's usage report (0 when it sends none); ``medchat`` collects our server's extra field
    (disclaimer, safety decision). Closing the iterator early, or ``cancel()``, closes the HTTP
    response, which makes our server stop generating.

    Reasoning the endpoint sends apart (``delta.reasoning_content``: our server, vLLM, DeepSeek)
    is yielded in the ``<think>…</think>`` form a local model writes, so model/service.py splits
    both the same way; ``reasoning`` holds it too."""

    def __init__(self, engine: OpenAIEngine, messages, settings: GenerationSettings, cancel=None):
        self.settings = settings
        self.cancel_event = cancel or threading.Event()
        self.finish_reason: str | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.medchat: dict = {}
        self.server_notice: str | None = None  # our server's emergency notice, taken off the text
        self.server_triage_notice: str | None = None  # ... one only its triage model raised, taken off
        self.reasoning = ""
        self._in_reasoning = False
        self._to_strip: str | None = None  # what the server added that is still to come off the text
        self.started_at = time.perf_counter()
        self._first_at: float | None = None
        self._base_url = engine.base_url
        self._response = engine._create(messages, settings, stream=True)

    @property
    def time_to_first_token(self) -> float | None:
        return None if self._first_at is None else self._first_at - self.started_at

    def cancel(self) -> None:
        self.cancel_event.set()

    def __iter__(self) -> Iterator[str]:
        import openai

        deadline = self.started_at + self.settings.timeout_s
        reason = None
        try:
            for chunk in self._response:
                extra = (chunk.model_extra or {}).get("medchat")
                if isinstance(extra, dict):
                    self.medchat.update(extra)
                if chunk.usage is not None:
                    self.prompt_tokens = chunk.usage.prompt_tokens
                    self.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.finish_reason:
                        reason = _FINISH.get(choice.finish_reason, choice.finish_reason)
                    piece = self._piece(choice.delta, extra)
                    if piece:
                        if self._first_at is None:
                            self._first_at = time.perf_counter()
                        yield piece
                if self.cancel_event.is_set():
                    reason = "cancelled"
                    break
                if time.perf_counter() > deadline and reason is None:
                    reason = "timeout"
                    break
            else:
                if reason is None:  # the stream ended without a finish reason: cut off
                    raise RemoteError(f"{self._base_url} ended the stream without finishing the reply")
        except GeneratorExit:
            reason = "cancelled"
            raise
        except openai.APIError as err:
            raise _translate(err, self._base_url) from err
        finally:
            self._response.close()
            # Our server reports why generation really ended (e.g. its own timeout).
            self.finish_reason = (
                self.medchat.get("finish_reason", reason) if reason != "cancelled" else reason
            )

    def _piece(self, delta, extra) -> str:
        """The text of one delta: reasoning opened or continued in ``<think>`` form, the answer
        (closing the reasoning first) less what the server added before or after it."""
        thought = (delta.model_extra or {}).get("reasoning_content")
        if isinstance(thought, str) and thought:
            self.reasoning += thought
            opening = "" if self._in_reasoning else THINK_OPEN
            self._in_reasoning = True
            return opening + thought
        if not delta.content:
            return ""
        suffix = _added_suffix(extra)
        if suffix:  # the server's closing notice comes in a chunk of its own that reports it
            if delta.content != suffix:
                raise RemoteError(f"{self._base_url} reported adding {suffix!r} after the reply, but did not")
            self.server_triage_notice = extra.get("emergency_notice")
            return ""
        piece = self._strip(delta.content)
        if piece and self._in_reasoning:
            self._in_reasoning = False
            return THINK_CLOSE + piece
        return piece

    def _strip(self, piece: str) -> str:
        """``piece`` less what is left of the server's added prefix (it may span several pieces)."""
        if self._to_strip is None:  # the first text: the medchat field came with the role chunk
            self._to_strip = _added_prefix(self.medchat)
            self.server_notice = self.medchat.get("emergency_notice") if self._to_strip else None
        if not self._to_strip:
            return piece
        n = min(len(piece), len(self._to_strip))
        if piece[:n] != self._to_strip[:n]:
            raise RemoteError(
                f"{self._base_url} reported adding {self._to_strip!r} in front of the reply, but did not"
            )
        self._to_strip = self._to_strip[n:]
        return piece[n:]

    def text(self) -> str:
        """Consume the whole stream and return the reply."""
        return "".join(self)


class OpenAIEngine:
    """A model behind an OpenAI-compatible ``/v1`` endpoint, with LocalEngine's chat methods.

    Args:
        base_url: the endpoint, e.g. ``http://127.0.0.1:8000/v1`` or ``https://api.openai.com/v1``.
        model: the model name the endpoint serves.
        api_key: bearer key; defaults to ``$OPENAI_API_KEY``, else a placeholder (local servers
            without ``--api-key`` accept any).
        max_retries: retries on 408/409/429/5xx and connection errors, with exponential backoff.
        concurrency: parallel requests in ``chat_batch``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        max_retries: int = 5,
        concurrency: int = 4,
    ):
        import openai

        self.base_url = base_url.rstrip("/")
        self.name = model
        self.concurrency = concurrency
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=max_retries,
        )

    def describe(self) -> str:
        return f"{self.name} · OpenAI-compatible API at {self.base_url}"

    def _create(self, messages, settings: GenerationSettings, stream: bool):
        import openai

        kwargs = dict(
            model=self.name,
            messages=messages,
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            timeout=settings.timeout_s + 10,  # seconds; the connection may take a moment
        )
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        try:
            return self.client.chat.completions.create(**kwargs)
        except openai.APIError as err:
            raise _translate(err, self.base_url) from err

    def stream_chat(
        self, messages, settings: GenerationSettings, cancel: threading.Event | None = None
    ) -> tuple[FittedPrompt, RemoteStream]:
        """Start a streamed reply. The prompt is rendered by the server, so the returned
        FittedPrompt only carries the messages sent (``text`` empty, token count unknown: 0)."""
        stream = RemoteStream(self, messages, settings, cancel)
        return FittedPrompt(text="", messages=list(messages), n_tokens=0, dropped_messages=0), stream

    def chat(self, messages, settings: GenerationSettings) -> str:
        """One plain (non-streamed) reply (without our server's emergency notice, as streamed)."""
        completion = self._create(messages, settings, stream=False)
        text = completion.choices[0].message.content or ""
        return strip_added(text, (completion.model_extra or {}).get("medchat"), self.base_url)

    def chat_batch(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings, n: int = 1
    ) -> list[list[str]]:
        """``n`` replies per conversation, ``concurrency`` requests at a time."""
        if n > 1 and settings.temperature == 0:
            raise ValueError("several completions per prompt need sampling: set temperature > 0")
        jobs = [m for m in conversations for _ in range(n)]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            replies = list(pool.map(lambda m: self.chat(m, settings), jobs))
        return [replies[i * n : (i + 1) * n] for i in range(len(conversations))]


def main() -> None:
    parser = argparse.ArgumentParser(description="Stream one reply from an OpenAI-compatible endpoint.")
    parser.add_argument("message")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--api-model", required=True, help="model name the endpoint serves (see /v1/models)")
    parser.add_argument("--api-key", default=None, help="defaults to $OPENAI_API_KEY")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    engine = OpenAIEngine(args.base_url, args.api_model, api_key=args.api_key)
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    try:
        _, stream = engine.stream_chat([{"role": "user", "content": args.message}], settings)
        shown = False
        for piece in stream:
            if not shown and stream.server_notice:
                print(stream.server_notice + "\n")
            shown = True
            print(piece, end="", flush=True)
        if not shown and stream.server_notice:
            print(stream.server_notice)
    except (GenerationError, ChatFormatError) as err:
        raise SystemExit(f"error: {err}") from None
    print(f"\n[{stream.completion_tokens} tokens, finish: {stream.finish_reason}]")
    for source in stream.medchat.get("sources") or []:
        print(f"[{source['number']}] {source['source']}")
    if stream.medchat.get("disclaimer"):
        print(stream.medchat["disclaimer"])


if __name__ == "__main__":
    main()
