"""The one generation path: streaming (app, API server) and batched (evaluation, datagen, RL sampling).

``TextStream`` runs ``model.generate`` in a thread and yields text pieces as tokens arrive. The
generating thread only records token ids (a streamer whose ``put`` appends to a list); the consuming
thread decodes them incrementally and wakes at most once per ``stream_interval_s`` (default 20 ms,
so at most 50 updates a second, with the first token delivered at once): a wake-up per token costs
the generating thread a thread switch per token, which on a fast model is 20% of its speed
(docs/benchmarks.md). It stops when the consumer cancels (closes the iterator or calls
``cancel()``), when the wall-clock timeout passes, at EOS, at a template stop string, or at
``max_new_tokens``; ``finish_reason`` says which. ``LocalEngine`` adds the chat layer: messages ->
prompt (model/chat.py, with context-window truncation) -> stream.

    python -m model.generate --model artifacts/demo-model "高血压患者饮食要注意什么？"
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from model.chat import FittedPrompt, fit, history_to_messages, stop_strings
from model.decoding import IncrementalDecoder, TokenQueue, monitor_criteria, split_at_partial_stop


class GenerationError(RuntimeError):
    """Generation failed inside the model (the message carries the underlying error)."""


STREAM_INTERVAL_S = 0.02  # the consumer wakes at most this often (the first token comes at once)
MIN_TEMPERATURE = 0.01  # below it (and above 0, greedy) sampling overflows
MIN_PENALTY, MAX_PENALTY = 0.05, 20.0  # a repetition penalty outside them overflows the logits too


@dataclass
class GenerationSettings:
    """Sampling settings shared by every caller. ``temperature`` 0 means greedy decoding."""

    max_new_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    timeout_s: float = 120.0  # wall-clock limit for one reply, seconds

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0 or 0 < self.temperature < MIN_TEMPERATURE:
            # a tiny temperature divides the logits into infinities: the sampler fails mid-reply
            raise ValueError(
                f"temperature must be 0 (greedy) or at least {MIN_TEMPERATURE}, got {self.temperature}"
            )
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not MIN_PENALTY <= self.repetition_penalty <= MAX_PENALTY:
            raise ValueError(
                f"repetition_penalty must be between {MIN_PENALTY} and {MAX_PENALTY}, got {self.repetition_penalty}"
            )
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")

    def generate_kwargs(self, tokenizer) -> dict:
        """Keyword arguments for ``model.generate``."""
        kwargs = {
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "pad_token_id": tokenizer.pad_token_id,
        }
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = stop_strings(tokenizer)
        if stops:
            kwargs.update(stop_strings=stops, tokenizer=tokenizer)
        return kwargs

    def to_dict(self) -> dict:
        return asdict(self)


class _WorkerStalled(Exception):
    """No token and no end from the generating thread within the guard time."""


class TextStream:
    """Iterate to receive the reply's text pieces; attributes report usage and why it ended.

    ``finish_reason`` is one of ``stop`` (EOS or stop string), ``length`` (max_new_tokens),
    ``timeout`` (settings.timeout_s) or ``cancelled``; None while running. Closing the iterator
    early (a client disconnect in Gradio or the API server) cancels generation at the next token.
    ``stream_interval_s`` bounds how often the consumer wakes (0: at every token); tokens that
    arrive in between come as one piece.
    """

    def __init__(
        self,
        model,
        tokenizer,
        prompt: str,
        settings: GenerationSettings,
        cancel: threading.Event | None = None,
        stream_interval_s: float = STREAM_INTERVAL_S,
    ):
        from transformers import StoppingCriteriaList

        if stream_interval_s < 0:
            raise ValueError(f"stream_interval_s must be >= 0, got {stream_interval_s}")
        self.settings = settings
        self.stream_interval_s = stream_interval_s
        self._tokenizer = tokenizer
        self.cancel_event = cancel or threading.Event()
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        self.prompt_tokens = int(inputs["input_ids"].shape[1])
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.started_at = time.perf_counter()
        self._state = {"completion_tokens": 0, "first_token_at": None, "stopped_by": None}
        self._stops = stop_strings(tokenizer)
        self._error: BaseException | None = None
        # The guard only catches a dead worker; the deadline is enforced by the monitor criterion,
        # so the reply ends cleanly with finish_reason "timeout".
        self._guard_s = settings.timeout_s + 30
        self._streamer = TokenQueue()
        monitor = monitor_criteria(
            self.prompt_tokens, self.cancel_event, self.started_at + settings.timeout_s, self._state
        )
        kwargs = dict(
            **inputs,
            **settings.generate_kwargs(tokenizer),
            streamer=self._streamer,
            stopping_criteria=StoppingCriteriaList([monitor]),
        )
        self._thread = threading.Thread(target=self._run, args=(model, kwargs), daemon=True)
        self._thread.start()

    def _run(self, model, kwargs) -> None:
        import torch

        try:
            # inference_mode rather than generate's own no_grad: no autograd bookkeeping at all,
            # which is measurably faster per step on small models.
            with torch.inference_mode():
                model.generate(**kwargs)
        except BaseException as err:  # surfaced to the consumer in __iter__
            self._error = err
        finally:
            self._streamer.end()

    @property
    def time_to_first_token(self) -> float | None:
        first = self._state["first_token_at"]
        return None if first is None else first - self.started_at

    def cancel(self) -> None:
        self.cancel_event.set()

    def _pieces(self) -> Iterator[str]:
        """Decoded text as it arrives, at most one piece per ``stream_interval_s``."""
        tokens, decoder = self._streamer, IncrementalDecoder(self._tokenizer)
        seen = 0
        while True:
            if not tokens.wait(seen, self._guard_s):
                raise _WorkerStalled
            woke = time.perf_counter()
            done = tokens.done  # read before the length: every id put before end() is included
            seen = len(tokens.ids)
            piece = decoder.step(tokens.ids, seen, final=done)
            if piece:
                yield piece
            if done:
                return
            pause = self.stream_interval_s - (time.perf_counter() - woke)
            if pause > 0:
                tokens.ended.wait(pause)  # the end of the reply cuts the pause short

    def __iter__(self) -> Iterator[str]:
        held = ""  # a tail that could be the start of a stop string, not shown yet
        try:
            for piece in self._pieces():
                held += piece
                hits = [held.find(s) for s in self._stops if s in held]
                if hits:
                    if held[: min(hits)]:
                        yield held[: min(hits)]
                    held = ""
                    self._state["stopped_by"] = "stop"  # the monitor ends generation at the next step
                    break
                emit, held = split_at_partial_stop(held, self._stops)
                if emit:
                    yield emit
            if held:
                yield held
        except _WorkerStalled:
            self._state["stopped_by"] = "timeout"
        finally:
            # Normal end, an error, or the consumer closing us early (GeneratorExit): make sure the
            # worker stops at its next step, then collect usage.
            if self._thread.is_alive():
                self.cancel_event.set()
            self._thread.join(timeout=5)
            self.completion_tokens = self._state["completion_tokens"]
            if self._state["stopped_by"]:
                self.finish_reason = self._state["stopped_by"]
            elif self.completion_tokens >= self.settings.max_new_tokens:
                self.finish_reason = "length"
            else:
                self.finish_reason = "stop"
        if self._error is not None:
            raise GenerationError(
                f"generation failed: {type(self._error).__name__}: {self._error}"
            ) from self._error

    def text(self) -> str:
        """Consume the whole stream and return the reply."""
        return "".join(self)


def generate_batch(
    model, tokenizer, prompts: list[str], settings: GenerationSettings, num_return_sequences: int = 1
) -> list[list[str]]:
    """Non-streaming generation for many prompts at once (left-padded batch).

    Returns, for each prompt, ``num_return_sequences`` completions (prompt text removed, template
    stop strings cut). Used by evaluation, datagen's local backend and the RL samplers."""
    import torch

    if num_return_sequences > 1 and settings.temperature == 0:
        raise ValueError("several completions per prompt need sampling: set temperature > 0")
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            model.device
        )
    finally:
        tokenizer.padding_side = side
    with torch.inference_mode():
        out = model.generate(
            **inputs, **settings.generate_kwargs(tokenizer), num_return_sequences=num_return_sequences
        )
    new = out[:, inputs["input_ids"].shape[1] :]
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    stops = stop_strings(tokenizer)
    for i, text in enumerate(texts):
        for s in stops:
            text = text.split(s, 1)[0]
        texts[i] = text
    return [texts[i * num_return_sequences : (i + 1) * num_return_sequences] for i in range(len(prompts))]


class LocalEngine:
    """An in-process model behind the chat interface every caller uses (app, server, eval, datagen).

    ``max_input_tokens`` bounds the prompt; older turns are dropped to fit (model/chat.py ``fit``).
    By default it is the model's context window minus ``max_new_tokens``. ``stream_interval_s`` is
    passed to every TextStream (how often the consumer wakes for new text)."""

    def __init__(
        self,
        loaded,
        max_input_tokens: int | None = None,
        stream_interval_s: float = STREAM_INTERVAL_S,
    ):
        self.loaded = loaded
        self.stream_interval_s = stream_interval_s
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.name = loaded.name
        self.max_input_tokens = max_input_tokens

    def describe(self) -> str:
        return self.loaded.describe()

    def input_budget(self, settings: GenerationSettings) -> int:
        window = max(self.loaded.max_context - settings.max_new_tokens, 16)
        return min(self.max_input_tokens, window) if self.max_input_tokens else window

    def prepare(self, messages: list[dict[str, str]], settings: GenerationSettings) -> FittedPrompt:
        """Render and fit ``messages`` (ending with the user's message) into the input budget."""
        return fit(self.tokenizer, messages, self.input_budget(settings))

    def stream_chat(
        self, messages, settings: GenerationSettings, cancel: threading.Event | None = None
    ) -> tuple[FittedPrompt, TextStream]:
        prompt = self.prepare(messages, settings)
        return prompt, TextStream(
            self.model, self.tokenizer, prompt.text, settings, cancel, self.stream_interval_s
        )

    def chat(self, messages, settings: GenerationSettings) -> str:
        return self.stream_chat(messages, settings)[1].text()

    def chat_batch(
        self, conversations: list[list[dict[str, str]]], settings: GenerationSettings, n: int = 1
    ) -> list[list[str]]:
        prompts = [self.prepare(m, settings).text for m in conversations]
        return generate_batch(self.model, self.tokenizer, prompts, settings, num_return_sequences=n)


def main() -> None:
    from model.load import ModelLoadError, add_model_args, load_from_args

    parser = argparse.ArgumentParser(description="Stream one reply to a message.")
    add_model_args(parser)
    parser.add_argument("message")
    parser.add_argument("--system", default=None)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args()
    try:
        engine = LocalEngine(load_from_args(args))
    except ModelLoadError as err:
        raise SystemExit(f"error: {err}") from None
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    _, stream = engine.stream_chat(history_to_messages([], args.message, args.system), settings)
    for piece in stream:
        print(piece, end="", flush=True)
    print(f"\n[{stream.completion_tokens} tokens, finish: {stream.finish_reason}]")


if __name__ == "__main__":
    main()
