"""model/chat.py: Gradio history -> messages, templates (the model's own and the fallbacks), truncation."""

import copy

import pytest

from model.chat import (
    TEMPLATES,
    ChatFormatError,
    PromptTooLong,
    apply_template,
    count_tokens,
    fit,
    history_to_messages,
    pick_template,
    render,
    stop_strings,
)

# Gradio 6 history as the ChatInterface hands it over: content as block lists, UI-only titled messages.
GRADIO_HISTORY = [
    {"role": "user", "content": [{"type": "text", "text": "我最近血压有点高"}], "metadata": None},
    {"role": "assistant", "content": "🚨 call 120", "metadata": {"title": "🚨 Emergency"}},
    {
        "role": "assistant",
        "content": [{"type": "text", "text": "建议少盐饮食。"}, {"type": "text", "text": "定期测量。"}],
    },
    {"role": "assistant", "content": "[1] kb.md", "metadata": {"title": "📚 Sources (1)", "status": "done"}},
    {"role": "user", "content": [{"type": "file", "file": {"path": "/tmp/x.png"}}]},  # no text: skipped
    {"role": "user", "content": {"type": "text", "text": "What about exercise?"}},
    {"role": "assistant", "content": "  Walk 30 minutes a day.  "},
]


def test_history_to_messages_reads_gradio6_blocks_and_skips_ui_only_messages():
    before = copy.deepcopy(GRADIO_HISTORY)
    messages = history_to_messages(GRADIO_HISTORY, {"text": "ignored", "content": "那饮食呢？"}, "SYS")
    assert messages == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "我最近血压有点高"},
        {"role": "assistant", "content": "建议少盐饮食。\n定期测量。"},
        {"role": "user", "content": "What about exercise?"},
        {"role": "assistant", "content": "Walk 30 minutes a day."},
        {"role": "user", "content": "那饮食呢？"},
    ]
    assert GRADIO_HISTORY == before  # Gradio's history is a copy we must not mutate


def test_history_to_messages_plain_string_message_and_no_system_prompt():
    assert history_to_messages([], "hi") == [{"role": "user", "content": "hi"}]
    assert history_to_messages([{"role": "user", "content": "a"}]) == [{"role": "user", "content": "a"}]


@pytest.mark.parametrize("empty", ["", "   \n", [{"type": "text", "text": " "}], {"content": ""}])
def test_empty_message_is_a_clear_error(empty):
    with pytest.raises(ChatFormatError, match="empty"):
        history_to_messages([], empty)


def test_render_uses_the_tokenizers_chatml_template(tiny_tokenizer):
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "问"},
        {"role": "assistant", "content": "答"},
        {"role": "user", "content": "再问"},
    ]
    assert render(tiny_tokenizer, messages) == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n问<|im_end|>\n"
        "<|im_start|>assistant\n答<|im_end|>\n<|im_start|>user\n再问<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_renders_each_turn_as_a_prefix_of_the_next(tiny_tokenizer, name):
    """The prompt served for a turn + the reply is exactly what the full conversation renders to:
    the property training (assistant masks) and serving rely on."""
    tok = copy.deepcopy(tiny_tokenizer)
    apply_template(tok, name)
    conversation = [
        {"role": "system", "content": "你是医疗助手"},
        {"role": "user", "content": "头痛怎么办？"},
        {"role": "assistant", "content": "多休息，必要时就医。"},
        {"role": "user", "content": "需要吃药吗？"},
        {"role": "assistant", "content": "遵医嘱。"},
    ]
    for i in (2, 4):
        served = render(tok, conversation[:i], add_generation_prompt=True)
        trained = render(tok, conversation[: i + 1], add_generation_prompt=False)
        assert trained.startswith(served)
        assert conversation[i]["content"] in trained[len(served) :]


def test_chimed_and_ziya_fallback_templates(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    apply_template(tok, "chimed")
    text = render(tok, [{"role": "user", "content": "发烧了"}, {"role": "assistant", "content": "量体温"},
                        {"role": "user", "content": "38度"}])  # fmt: skip
    assert text == "[human]:发烧了\n[bot]:量体温<|im_end|>\n[human]:38度\n[bot]:"
    assert stop_strings(tok) == ["[human]:"]
    apply_template(tok, "ziya")
    assert render(tok, [{"role": "user", "content": "hi"}]) == "<human>:hi\n<bot>:"
    assert stop_strings(tok) == ["<human>:"]


def test_assistant_mask_covers_only_the_reply(tiny_tokenizer):
    """The {% generation %} markers let trainers mask everything but assistant text."""
    messages = [{"role": "user", "content": "问题"}, {"role": "assistant", "content": "回答"}]
    out = tiny_tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tiny_tokenizer.decode(masked) == "回答<|im_end|>"


def test_pick_template(tiny_tokenizer):
    bare = copy.deepcopy(tiny_tokenizer)
    bare.chat_template = None
    assert pick_template("SYNLP/ChiMed-GPT-1.0", bare) == "chimed"
    assert pick_template("IDEA-CCNL/Ziya-LLaMA-13B-v1", bare) == "ziya"
    assert pick_template("some/base-model", bare) == "chatml"
    assert pick_template("SYNLP/ChiMed-GPT-1.0", tiny_tokenizer) is None  # its own template wins
    assert pick_template("x", tiny_tokenizer, "ziya") == "ziya"
    with pytest.raises(ChatFormatError, match="no chat template of its own"):
        pick_template("some/base-model", bare, "model")
    with pytest.raises(ChatFormatError, match="unknown chat template"):
        pick_template("x", tiny_tokenizer, "alpaca")


def test_render_rejects_bad_roles_and_empty_conversations(tiny_tokenizer):
    with pytest.raises(ChatFormatError, match="unsupported role 'tool'"):
        render(tiny_tokenizer, [{"role": "tool", "content": "x"}])
    with pytest.raises(ChatFormatError, match="no messages"):
        render(tiny_tokenizer, [])


def _conversation(turns: int, chars: int = 60) -> list[dict]:
    messages = [{"role": "system", "content": "系统提示"}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"问题{i} " + "症状" * (chars // 2)})
        messages.append({"role": "assistant", "content": f"回答{i} " + "建议" * (chars // 2)})
    messages.append({"role": "user", "content": "最新的问题"})
    return messages


def test_fit_keeps_everything_when_it_fits(tiny_tokenizer):
    messages = _conversation(2)
    fitted = fit(tiny_tokenizer, messages, 10_000)
    assert fitted.messages == messages
    assert fitted.dropped_messages == 0 and fitted.notice is None
    assert fitted.text == render(tiny_tokenizer, messages)
    assert fitted.n_tokens == count_tokens(tiny_tokenizer, fitted.text)


def test_fit_drops_oldest_turns_never_the_system_prompt_or_new_message(tiny_tokenizer):
    messages = _conversation(6)
    full = count_tokens(tiny_tokenizer, render(tiny_tokenizer, messages))
    budget = full // 2
    fitted = fit(tiny_tokenizer, messages, budget)
    assert fitted.n_tokens <= budget
    assert fitted.messages[0] == messages[0]  # system prompt kept
    assert fitted.messages[-1] == messages[-1]  # the new message kept
    assert fitted.messages[1]["role"] == "user"  # a reply never survives without its question
    kept = fitted.messages[1:-1]
    assert kept == messages[len(messages) - 1 - len(kept) : -1]  # the most recent turns, in order
    assert fitted.dropped_messages == len(messages) - len(fitted.messages) > 0
    assert f"{fitted.dropped_messages} oldest message(s)" in fitted.notice
    # One token fewer than the kept prompt needs forces one more turn out.
    tighter = fit(tiny_tokenizer, messages, fitted.n_tokens - 1)
    assert tighter.dropped_messages == fitted.dropped_messages + 2


def test_fit_raises_when_the_new_message_alone_is_too_long(tiny_tokenizer):
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "很长的消息" * 200}]
    with pytest.raises(PromptTooLong, match="over the input limit of 50 tokens"):
        fit(tiny_tokenizer, messages, 50)


def test_fit_needs_a_final_user_message(tiny_tokenizer):
    with pytest.raises(ChatFormatError, match="must end with a user message"):
        fit(tiny_tokenizer, [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], 100)
