"""Reasoning SFT: templates that rewrite earlier turns (one example per turn, each byte-identical to
its served prompt), reasoning data readers (OpenAI ``reasoning_content``, HuatuoGPT-o1), the
``<think>`` format, ``--thinking on|off`` and a tiny SFT run on reasoning records."""

import copy

import pytest
from test_train_data import write_jsonl

from model.chat import ChatFormatError, render
from training.data import DataFormatError, conversation_examples, read_conversations

# A project-written Qwen3-style template: reads ``reasoning_content``, keeps it only for assistant
# turns after the last user message (earlier replies lose their <think> block, so rendering a
# later turn rewrites the earlier ones), and takes ``enable_thinking`` (off: an empty think block
# in the generation prompt and before the latest reply, so the model answers at once).
DROPS_EARLIER_THINKING = (
    "{%- set ns = namespace(last_user=-1) %}"
    "{%- for m in messages %}{%- if m['role'] == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}"
    "{%- endfor %}"
    "{%- for m in messages %}"
    "{%- if m['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- set off = enable_thinking is defined and enable_thinking is false %}"
    "{%- if loop.index0 > ns.last_user and (m.get('reasoning_content') or off) %}"
    "{{- '<think>\\n' + (m.get('reasoning_content') or '') + '\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{{- m['content'] + '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}{%- endif %}"
)

REASONING_CONVERSATION = [
    {"role": "system", "content": "你是一个谨慎的医学助手。"},
    {"role": "user", "content": "我最近血压145/95，需要吃药吗？"},
    {
        "role": "assistant",
        "content": "一次测量偏高还不能确诊，建议多测几次并就医。",
        "reasoning_content": "145/95 属于 1 级高血压范围，但单次测量不能诊断。",
    },
    {"role": "user", "content": "What about salt?"},
    {"role": "assistant", "content": "Less than 5 g a day.", "reasoning_content": "WHO: < 5 g salt daily."},
    {"role": "user", "content": "And exercise?"},
    {"role": "assistant", "content": "150 minutes a week.", "reasoning_content": "Guidelines: 150 min/week."},
]


def spans(mask):
    """(start, end) of each run of 1s in ``mask``."""
    out, start = [], None
    for k, b in enumerate([*mask, 0]):
        if b and start is None:
            start = k
        elif not b and start is not None:
            out.append((start, k))
            start = None
    return out


def check_every_turn_is_served_exactly(tok, conversation, thinking=None):
    """For every assistant turn: some example's ids up to that reply are the served prompt's ids
    (and text), and the labelled span after it is the reply as the template renders it."""
    examples = conversation_examples(tok, conversation, thinking)
    turns = [i for i, m in enumerate(conversation) if m["role"] == "assistant"]
    labelled = [(ids, s) for ids, mask in examples for s in spans(mask)]
    assert len(labelled) == len(turns)
    for turn, (ids, (start, end)) in zip(turns, labelled, strict=True):
        served = render(tok, conversation[:turn], add_generation_prompt=True, thinking=thinking)
        assert ids[:start] == tok(served, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids[:start]) == served
        full = render(tok, conversation[: turn + 1], add_generation_prompt=False, thinking=thinking)
        assert served + tok.decode(ids[start:end]) == full.rstrip("\n")
    return examples


def test_template_that_drops_earlier_reasoning_trains_each_turn_in_its_served_context(tiny_model_dir):
    from model.generate import GenerationSettings, LocalEngine
    from model.load import load_model

    loaded = load_model(str(tiny_model_dir), device="cpu")
    tok = loaded.tokenizer
    tok.chat_template = DROPS_EARLIER_THINKING
    examples = check_every_turn_is_served_exactly(tok, REASONING_CONVERSATION)
    assert len(examples) == 3  # every turn rewrites the earlier ones: one example per turn
    engine = LocalEngine(loaded)
    for turn, (ids, mask) in zip((2, 4, 6), examples, strict=True):
        served = engine.prepare(REASONING_CONVERSATION[:turn], GenerationSettings())
        start = mask.index(1)
        assert ids[:start] == tok(served.text, add_special_tokens=False)["input_ids"]
        # the served prompt has no earlier reasoning; the trained reply has its own, under loss
        assert "<think>" not in served.text
        reply = tok.decode([t for t, b in zip(ids, mask, strict=True) if b])
        m = REASONING_CONVERSATION[turn]
        assert reply == f"<think>\n{m['reasoning_content']}\n</think>\n\n{m['content']}<|im_end|>"


def test_without_reasoning_the_same_template_keeps_one_example(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = DROPS_EARLIER_THINKING
    plain = [{k: v for k, v in m.items() if k != "reasoning_content"} for m in REASONING_CONVERSATION]
    assert len(check_every_turn_is_served_exactly(tok, plain)) == 1


def test_fallback_templates_write_reasoning_in_think_tags_for_the_last_turn_only(tiny_tokenizer):
    """chatml has no reasoning_content of its own: model/chat.py writes it into <think> tags for the
    reply being trained or generated, and drops it from earlier turns, as the app's history does."""
    examples = check_every_turn_is_served_exactly(tiny_tokenizer, REASONING_CONVERSATION)
    assert len(examples) == 3
    last_ids, last_mask = examples[-1]
    text = tiny_tokenizer.decode(last_ids)
    assert text.count("<think>") == 1 and "Guidelines: 150 min/week." in text
    assert "WHO: < 5 g salt daily." not in text  # earlier reasoning is not in the served context
    labelled = tiny_tokenizer.decode([t for t, b in zip(last_ids, last_mask, strict=True) if b])
    assert labelled.startswith("<think>\nGuidelines")


@pytest.mark.parametrize("name", ["chimed", "ziya"])
def test_every_fallback_template_serves_reasoning_turns_exactly(tiny_tokenizer, name):
    from model.chat import apply_template

    tok = copy.deepcopy(tiny_tokenizer)
    apply_template(tok, name)
    assert len(check_every_turn_is_served_exactly(tok, REASONING_CONVERSATION)) == 3


def test_thinking_on_off_reaches_templates_that_take_enable_thinking(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = DROPS_EARLIER_THINKING
    question = REASONING_CONVERSATION[:2]
    assert render(tok, question, thinking=False).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert render(tok, question, thinking=True).endswith("<|im_start|>assistant\n")
    assert render(tok, question) == render(tok, question, thinking=True)
    # off: the empty think block is part of the served prompt (context), the answer alone is trained
    answer_only = [*question, {"role": "assistant", "content": "多测几次。"}]
    ((ids, mask),) = check_every_turn_is_served_exactly(tok, answer_only, thinking=False)
    assert tok.decode([t for t, b in zip(ids, mask, strict=True) if b]) == "多测几次。<|im_end|>"
    # a template without enable_thinking is rendered the same either way
    assert render(tiny_tokenizer, question, thinking=False) == render(tiny_tokenizer, question)


def test_a_template_that_cannot_continue_its_served_prompt_is_refused(tiny_tokenizer):
    tok = copy.deepcopy(tiny_tokenizer)
    # renders only the last message: the reply is not a continuation of the served prompt
    tok.chat_template = "{{ messages[-1]['content'] }}{% if add_generation_prompt %}>>{% endif %}"
    with pytest.raises(ChatFormatError, match="continuation of the prompt served"):
        conversation_examples(tok, REASONING_CONVERSATION[1:3])


# ---------------------------------------------------------------------------------------------
# readers


def test_reads_openai_reasoning_content_inline_think_and_huatuogpt_o1(tmp_path):
    f = write_jsonl(
        tmp_path / "reasoning.jsonl",
        [
            {"messages": [{"role": "user", "content": "q"},
                          {"role": "assistant", "content": "a", "reasoning_content": "because"}]},
            {"messages": [{"role": "user", "content": "q"},
                          {"role": "assistant", "content": "<think>\nstep 1\n</think>\n\nanswer"}]},
            {"Question": "发热三天怎么办？", "Complex_CoT": "先考虑感染……", "Response": "建议就医。"},
            {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "plain"}]},
        ],
    )  # fmt: skip
    convs = read_conversations(f)
    assert convs[0][1] == {"role": "assistant", "content": "a", "reasoning_content": "because"}
    assert convs[1][1] == {"role": "assistant", "content": "answer", "reasoning_content": "step 1"}
    assert convs[2] == [
        {"role": "user", "content": "发热三天怎么办？"},
        {"role": "assistant", "content": "建议就医。", "reasoning_content": "先考虑感染……"},
    ]
    assert "reasoning_content" not in convs[3][1]


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"Question": "q", "Response": "a"}, "missing \\['Complex_CoT'\\]"),
        ({"Question": "q", "Complex_CoT": "", "Response": "a"}, "Complex_CoT must be a non-empty string"),
        ({"Question": "q", "Complex_CoT": "c", "Response": 3}, "Response must be a non-empty string"),
        ({"messages": [{"role": "user", "content": "q"},
                       {"role": "assistant", "content": "a", "reasoning_content": 5}]},
         "turn 2 reasoning_content must be a non-empty string"),
        ({"messages": [{"role": "user", "content": "q", "reasoning_content": "r"},
                       {"role": "assistant", "content": "a"}]},
         "turn 1: only assistant turns carry reasoning_content"),
        ({"messages": [{"role": "user", "content": "q"},
                       {"role": "assistant", "content": "<think>only thoughts</think>"}]},
         "turn 2 answer after the reasoning must be a non-empty string"),
    ],
)  # fmt: skip
def test_malformed_reasoning_record_names_file_and_line(tmp_path, bad, reason):
    good = {"Question": "q", "Complex_CoT": "c", "Response": "a"}
    f = write_jsonl(tmp_path / "r.jsonl", [good, good, bad])
    with pytest.raises(DataFormatError, match=rf"r\.jsonl:3: .*{reason}"):
        read_conversations(f)


# ---------------------------------------------------------------------------------------------
# a tiny run


def test_reasoning_sft_trains_on_reasoning_and_answer(tiny_model_dir, tmp_path):
    """SFT on HuatuoGPT-o1 records (chatml: reasoning in <think> tags), --thinking on: held-out loss
    falls, and the labelled span is the reasoning and the answer."""
    from training import sft

    rows = [
        {"Question": f"病例{i}：发热{i % 5 + 1}天，怎么办？", "Complex_CoT": f"发热{i % 5 + 1}天，先排除感染。",
         "Response": "建议及时就医，多喝水。"}
        for i in range(40)
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "o1.jsonl", rows)
    cfg = sft.SFTStageConfig(
        model_name_or_path=str(tiny_model_dir), train_files=[str(data)], eval_fraction=0.1,
        output_dir=str(tmp_path / "out"), max_steps=16, learning_rate=3e-3, per_device_train_batch_size=8,
        max_length=256, logging_steps=10, save_strategy="no", report_to="none", thinking="on",
        dataloader_pin_memory=False, disable_tqdm=True,
    )  # fmt: skip
    trainer, metrics = sft.train(cfg)
    assert metrics["eval_loss"] < metrics["eval_loss_before"] - 0.5
    tok = trainer.processing_class
    first = sft.tokenize_conversations(tok, read_conversations(data), thinking=True)[0]
    labelled = tok.decode([t for t, b in zip(first["input_ids"], first["assistant_masks"], strict=True) if b])
    assert labelled.startswith("<think>\n发热") and labelled.endswith("建议及时就医，多喝水。<|im_end|>")
