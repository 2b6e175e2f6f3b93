"""The one chat-template source: conversations -> prompt text, for training, the app and the API server.

Everything that turns a conversation into model input goes through :func:`render`, which uses the
tokenizer's own chat template (set by :func:`apply_template` when a model has none or a named
fallback is chosen). Training, the Gradio app and the OpenAI-compatible server therefore produce
byte-identical prompts for the same conversation (tests/test_train_data.py checks this).

Prompts are tokenized with ``add_special_tokens=False``: templates carry their own BOS where the
model needs one, so it is never doubled.

Templates for models without their own: ``chatml`` (the demo model), ``chimed`` (ChiMed-GPT-1.0's
``[human]:`` / ``[bot]:``) and ``ziya`` (Ziya-v1's ``<human>:`` / ``<bot>:``), picked by ``--chat-template``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """A named fallback chat template and the strings that end a reply if the model runs on."""

    jinja: str
    stop_strings: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""


TEMPLATES: dict[str, Template] = {
    "chatml": Template(CHATML, ("<|im_start|>",), "ChatML turns (Qwen-style); the demo model's template"),
    # ChiMed-GPT-1.0's README prompts with square brackets; Ziya-v1 used angle brackets (FACTS.md).
    "chimed": Template(
        _human_bot_template("[human]:", "[bot]:"), ("[human]:",), "ChiMed-GPT-1.0: [human]: / [bot]:"
    ),
    "ziya": Template(
        _human_bot_template("<human>:", "<bot>:"), ("<human>:",), "Ziya-LLaMA v1: <human>: / <bot>:"
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


def stop_strings(tokenizer) -> list[str]:
    """Strings that end a reply for the tokenizer's template (a model that forgets its EOS token)."""
    for template in TEMPLATES.values():
        if tokenizer.chat_template == template.jinja:
            return list(template.stop_strings)
    return []


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


def render(tokenizer, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """Conversation -> prompt text with the tokenizer's chat template (the one rendering path)."""
    if not messages:
        raise ChatFormatError("no messages to render")
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise ChatFormatError(f"unsupported role {message.get('role')!r}; use system, user or assistant")
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
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


def fit(tokenizer, messages: list[dict[str, str]], max_input_tokens: int) -> FittedPrompt:
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
        text = render(tokenizer, kept)
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
