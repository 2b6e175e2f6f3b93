"""The one chat-template source: conversations -> prompt text, for training, the app and the API server.

Everything that turns a conversation into model input goes through :func:`render`, which uses the
tokenizer's own chat template (set by :func:`apply_template` when a model has none or a named
fallback is chosen). Training, the Gradio app and the OpenAI-compatible server therefore produce
byte-identical prompts for the same conversation (tests/test_train_data.py checks this).

Prompts are tokenized with ``add_special_tokens=False``: templates carry their own BOS where the
model needs one, so it is never doubled.

Templates for models without their own: ``chatml`` (the demo model), ``chimed`` (ChiMed-GPT-1.0's
``[human]:`` / ``[bot]:``) and ``ziya`` (Ziya-v1's ``<human>:`` / ``<bot>:``), picked by ``--chat-template``.

Untrusted text: every message's content (user and assistant turns, retrieved sources inside the
grounded prompt, imported conversations, training data) passes through :func:`neutralise` before
the template sees it. Each control-token string of the tokenizer (every added token:
``<|im_start|>``, ``</s>``...) and each plain-text turn marker of the fallback template in use
(``[human]:``, ``<bot>:``..., wherever they occur, so also at line starts) gets a zero-width joiner
(U+200D) after its first character: the text reads the same, but it tokenizes as ordinary text
and no forged turn can start. Serving and training render through the same function, so the
trained prompt still equals the served one.

Reasoning: an assistant message may carry ``reasoning_content``. A template that reads it formats
it itself; for any other, the reasoning of the turns after the last user message is written
between ``<think>`` tags before the answer, and earlier turns' reasoning is dropped (as Qwen3-style
templates do, and as the app sends its history back). ``thinking`` is passed as
``enable_thinking`` to templates that take it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

# ChatML (Qwen-style) turns. {% generation %} marks assistant text so trainers can compute
# assistant-only loss masks (transformers' return_assistant_tokens_mask / TRL's assistant_only_loss).
CHATML = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}{{- message['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _human_bot_template(human: str, bot: str) -> str:
    """Ziya-family turns: ``{human}question\\n{bot}answer</s>\\n``; a system prompt is a leading line."""
    return (
        "{{- bos_token or '' }}"
        "{%- for message in messages %}"
        "{%- if message['role'] == 'system' %}{{- message['content'] + '\\n' }}"
        "{%- elif message['role'] == 'user' %}{{- '" + human + "' + message['content'] + '\\n' }}"
        "{%- else %}{{- '" + bot + "' }}"
        "{% generation %}{{- message['content'] + (eos_token or '') }}{% endgeneration %}{{- '\\n' }}"
        "{%- endif %}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '" + bot + "' }}{%- endif %}"
    )


@dataclass(frozen=True)
class Template:
    """A named fallback chat template, the strings that end a reply if the model runs on, and its
    plain-text turn markers (neutralised in untrusted text, see :func:`neutralise`)."""

    jinja: str
    stop_strings: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    markers: tuple[str, ...] = field(default_factory=tuple)


TEMPLATES: dict[str, Template] = {
    "chatml": Template(
        CHATML,
        ("<|im_start|>",),
        "ChatML turns (Qwen-style); the demo model's template",
        ("<|im_start|>", "<|im_end|>"),
    ),
    # ChiMed-GPT-1.0's README prompts with square brackets; Ziya-v1 used angle brackets (FACTS.md).
    "chimed": Template(
        _human_bot_template("[human]:", "[bot]:"),
        ("[human]:",),
        "ChiMed-GPT-1.0: [human]: / [bot]:",
        ("[human]:", "[bot]:"),
    ),
    "ziya": Template(
        _human_bot_template("<human>:", "<bot>:"),
        ("<human>:",),
        "Ziya-LLaMA v1: <human>: / <bot>:",
        ("<human>:", "<bot>:"),
    ),
}
TEMPLATE_CHOICES = ("auto", "model", *TEMPLATES)


class ChatFormatError(ValueError):
    """A conversation that cannot be turned into a prompt (bad roles, empty or oversized message)."""


class PromptTooLong(ChatFormatError):
    """The system prompt plus the new message alone exceed the input budget."""


def pick_template(model_name: str, tokenizer, choice: str = "auto") -> str | None:
    """Resolve ``--chat-template``: ``model`` keeps the tokenizer's own; a name picks a fallback;
    ``auto`` keeps the tokenizer's template when it has one, else guesses from the model name
    (ChiMed-GPT, Ziya) and falls back to ChatML. Returns the fallback name or None (model's own)."""
    if choice == "model":
        if not tokenizer.chat_template:
            raise ChatFormatError(
                f"{model_name} has no chat template of its own; pick one with --chat-template "
                f"({', '.join(TEMPLATES)})"
            )
        return None
    if choice in TEMPLATES:
        return choice
    if choice != "auto":
        raise ChatFormatError(f"unknown chat template {choice!r}; choose from {', '.join(TEMPLATE_CHOICES)}")
    if tokenizer.chat_template:
        return None
    lowered = model_name.lower()
    if "chimed" in lowered:
        return "chimed"
    if "ziya" in lowered:
        return "ziya"
    return "chatml"


def apply_template(tokenizer, name: str | None) -> None:
    """Install fallback template ``name`` on ``tokenizer`` (None keeps the tokenizer's own).

    The template is saved with the tokenizer, so a trained checkpoint carries the exact format it
    was trained on into serving."""
    if name is None:
        return
    tokenizer.chat_template = TEMPLATES[name].jinja


def fallback_of(tokenizer) -> Template | None:
    """The fallback template installed on ``tokenizer``, or None when it uses the model's own."""
    for template in TEMPLATES.values():
        if tokenizer.chat_template == template.jinja:
            return template
    return None


def stop_strings(tokenizer) -> list[str]:
    """Strings that end a reply for the tokenizer's template (a model that forgets its EOS token)."""
    template = fallback_of(tokenizer)
    return list(template.stop_strings) if template else []


def content_text(content) -> str:
    """Gradio 6 content is a string or a list of blocks; keep the text blocks, in order."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type", "text") == "text" and "text" in block:
            parts.append(block["text"])
    return "\n".join(parts)


def history_to_messages(history, message=None, system_prompt: str | None = None) -> list[dict[str, str]]:
    """Gradio 6 history (+ the new user message) -> ``[{"role", "content"}]`` for the model.

    UI-only messages (those with ``metadata.title``: notices, Sources panels) and empty ones are
    left out. A new list is built; Gradio's history is never mutated."""
    messages: list[dict[str, str]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for item in history or []:
        role = item.get("role")
        if role not in ("user", "assistant"):
            continue
        if (item.get("metadata") or {}).get("title"):
            continue
        text = content_text(item.get("content")).strip()
        if text:
            messages.append({"role": role, "content": text})
    if message is not None:
        text = content_text(message.get("content") if isinstance(message, dict) else message).strip()
        if not text:
            raise ChatFormatError("The message is empty: type a question first.")
        messages.append({"role": "user", "content": text})
    return messages


# ---------------------------------------------------------------------------------------------
# Untrusted text: no control token or turn marker can come from a message's content

ZWJ = "\u200d"  # zero-width joiner: invisible when displayed, breaks the token's exact string


def control_strings(tokenizer) -> tuple[str, ...]:
    """Strings that only the template may produce: every added token of the tokenizer (special or
    not: the tokenizer matches all of them as whole tokens inside text, e.g. ``<|im_start|>``,
    ``</s>``, ``<think>``) and the fallback template's plain-text turn markers (``[human]:``...)."""
    added = [t.content for t in tokenizer.added_tokens_decoder.values()]
    fallback = fallback_of(tokenizer)
    strings = {s for s in [*added, *(fallback.markers if fallback else ())] if len(s) > 1 and ZWJ not in s}
    return tuple(sorted(strings, key=lambda s: (-len(s), s)))


@lru_cache(maxsize=32)
def _pattern(strings: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(re.escape(s) for s in strings))


def neutralise(text: str, strings: tuple[str, ...]) -> str:
    """``text`` with every occurrence of ``strings`` broken by a zero-width joiner after its first
    character (``<|im_start|>`` -> ``<\u200d|im_start|>``): it reads the same on screen, but the
    tokenizer no longer sees a control token and no turn marker starts a line. Repeated until
    none is left (breaking one string can uncover none, since none contains the joiner)."""
    if not strings:
        return text
    pattern = _pattern(strings)
    while pattern.search(text):
        text = pattern.sub(lambda m: m.group(0)[0] + ZWJ + m.group(0)[1:], text)
    return text


# ---------------------------------------------------------------------------------------------
# Reasoning (``reasoning_content`` on assistant messages, as OpenAI-style APIs return it)

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def _template_source(tokenizer) -> str:
    template = tokenizer.chat_template or ""
    return "\n".join(template.values()) if isinstance(template, dict) else template


def _with_reasoning(tokenizer, messages: list[dict]) -> list[dict]:
    """Messages as the template receives them. A template that reads ``reasoning_content`` gets it
    and decides the format itself; for any other, reasoning is written into the content between
    ``<think>`` tags, for assistant turns after the last user message only: earlier turns'
    reasoning is dropped from the prompt, as Qwen3-style templates do and as the app's history
    (final answers only) is served."""
    if "reasoning_content" in _template_source(tokenizer):
        return messages
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    out = []
    for i, message in enumerate(messages):
        reasoning = (message.get("reasoning_content") or "").strip()
        message = {"role": message["role"], "content": message["content"]}
        if reasoning and message["role"] == "assistant" and i > last_user:
            message["content"] = f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n\n{message['content']}"
        out.append(message)
    return out


def template_kwargs(tokenizer, thinking: bool | None) -> dict:
    """``enable_thinking`` for templates that take it (Qwen3-style), when ``thinking`` is set."""
    if thinking is None or "enable_thinking" not in _template_source(tokenizer):
        return {}
    return {"enable_thinking": thinking}


def template_messages(tokenizer, messages: list[dict]) -> list[dict]:
    """``messages`` exactly as :func:`render` hands them to the chat template: roles checked, text
    neutralised, reasoning in the model's thinking format. For trainers that apply the template
    themselves (TRL's KTOTrainer): their rendering then equals :func:`render`'s."""
    if not messages:
        raise ChatFormatError("no messages to render")
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise ChatFormatError(f"unsupported role {message.get('role')!r}; use system, user or assistant")
        if not isinstance(message.get("content"), str):
            raise ChatFormatError(f"a {message['role']} message's content must be text")
    strings = control_strings(tokenizer)
    safe = []
    for message in messages:
        message = {**message, "content": neutralise(message["content"], strings)}
        if message.get("reasoning_content"):
            message["reasoning_content"] = neutralise(message["reasoning_content"], strings)
        safe.append(message)
    return _with_reasoning(tokenizer, safe)


def render(
    tokenizer,
    messages: list[dict[str, str]],
    add_generation_prompt: bool = True,
    thinking: bool | None = None,
) -> str:
    """Conversation -> prompt text with the tokenizer's chat template (the one rendering path).

    Every message's text (content and reasoning) is untrusted: :func:`neutralise` breaks control
    tokens and turn markers in it before the template adds the real ones. ``thinking`` is passed
    as ``enable_thinking`` to templates that take it."""
    return tokenizer.apply_chat_template(
        template_messages(tokenizer, messages),
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
        **template_kwargs(tokenizer, thinking),
    )


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


@dataclass
class FittedPrompt:
    """A prompt that fits the input budget, and how many earlier turns were dropped to fit it."""

    text: str
    messages: list[dict[str, str]]
    n_tokens: int
    dropped_messages: int

    @property
    def notice(self) -> str | None:
        if not self.dropped_messages:
            return None
        return (
            f"The conversation is longer than the model's input budget: the {self.dropped_messages} "
            "oldest message(s) were left out of this answer's context."
        )


def fit(
    tokenizer, messages: list[dict[str, str]], max_input_tokens: int, thinking: bool | None = None
) -> FittedPrompt:
    """Render ``messages`` for generation, dropping the oldest turns until it fits ``max_input_tokens``.

    The system prompt and the last (new) user message are never dropped; earlier messages go
    oldest first, a user message together with the assistant reply that follows it. Raises
    :class:`PromptTooLong` when the system prompt plus the new message alone do not fit."""
    if not messages or messages[-1]["role"] != "user":
        raise ChatFormatError("the conversation must end with a user message")
    system = [m for m in messages[:1] if m["role"] == "system"]
    middle = messages[len(system) : -1]
    last = messages[-1:]
    dropped = 0
    while True:
        kept = system + middle + last
        text = render(tokenizer, kept, thinking=thinking)
        n_tokens = count_tokens(tokenizer, text)
        if n_tokens <= max_input_tokens:
            return FittedPrompt(text, kept, n_tokens, dropped)
        if not middle:
            raise PromptTooLong(
                f"The message is too long for this model: {n_tokens} tokens with the system prompt, "
                f"over the input limit of {max_input_tokens} tokens. Shorten it or split it up."
            )
        # Drop the oldest message; if that leaves an assistant reply first, drop it with its question.
        middle = middle[1:]
        dropped += 1
        while middle and middle[0]["role"] == "assistant":
            middle = middle[1:]
            dropped += 1
