"""Training data readers (training/data.py) and the SFT rendering path: every supported format, malformed
records (file and line, --skip-bad), and byte-identity between SFT token ids and the served prompt."""

import json

import pytest
from conftest import SFT_1K, SHARED_DATA

from model.chat import render
from training.data import (
    DataFormatError,
    ReadReport,
    conversation_examples,
    conversation_ids,
    fingerprint,
    read_conversations,
    read_preferences,
    read_prompts,
    read_split,
    read_texts,
)

DPO_500 = SHARED_DATA / "medicalgpt" / "dpo_zh_500.jsonl"
GRPO_32 = SHARED_DATA / "medicalgpt" / "grpo_sample.jsonl"


def write_jsonl(path, rows):
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    )
    return path


# ---------------------------------------------------------------------------------------------
# formats


def test_sft_formats_sharegpt_openai_alpaca(tmp_path):
    f = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "q1"},
                               {"from": "gpt", "value": "a1"}, {"from": "human", "value": "q2"},
                               {"from": "gpt", "value": "a2"}]},
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
            {"instruction": "Explain fever.", "input": "child, 3 years", "output": "Fever is ..."},
            {"instruction": "List symptoms of flu.", "input": "<noinput>", "output": "Fever, aches."},
        ],
    )  # fmt: skip
    convs = read_conversations(f)
    assert [m["role"] for m in convs[0]] == ["system", "user", "assistant", "user", "assistant"]
    assert convs[1] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert convs[2][0]["content"] == "Explain fever.\nchild, 3 years"
    assert convs[3][0]["content"] == "List symptoms of flu."  # AlpaCare's <noinput> is no input


@pytest.mark.needs_shared
def test_sft_reads_the_shared_medicalgpt_file():
    report = ReadReport()
    convs = read_conversations(SFT_1K, report=report)
    assert len(convs) == report.records == 1000 and report.skipped == 0
    assert all(c[-1]["role"] == "assistant" for c in convs)


@pytest.mark.needs_shared
def test_preference_formats_trl_string_and_medicalgpt(tmp_path):
    f = write_jsonl(
        tmp_path / "prefs.jsonl",
        [
            {"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "good"}],
             "rejected": [{"role": "assistant", "content": "bad"}]},
            {"prompt": "q2", "chosen": "good2", "rejected": "bad2"},
        ],
    )  # fmt: skip
    pairs = read_preferences(f)
    assert (pairs[0].prompt, pairs[0].chosen, pairs[0].rejected) == (
        [{"role": "user", "content": "q"}],
        "good",
        "bad",
    )
    assert pairs[1].to_trl()["chosen"] == [{"role": "assistant", "content": "good2"}]
    medicalgpt = read_preferences(DPO_500)
    assert len(medicalgpt) == 500
    with_system = [p for p in medicalgpt if p.prompt[0]["role"] == "system"]
    assert with_system and all(p.prompt[-1]["role"] == "user" for p in medicalgpt)


def test_export_feedback_form_round_trips(tmp_path):
    """The app's export-feedback writes TRL's conversational form; a multi-turn prompt is kept whole."""
    prompt = [{"role": "user", "content": "头痛"}, {"role": "assistant", "content": "多久了？"},
              {"role": "user", "content": "三天"}]  # fmt: skip
    rec = {"prompt": prompt, "chosen": [{"role": "assistant", "content": "建议就医"}],
           "rejected": [{"role": "assistant", "content": "没事"}]}  # fmt: skip
    (pair,) = read_preferences(write_jsonl(tmp_path / "fb.jsonl", [rec]))
    assert pair.to_trl() == rec


@pytest.mark.needs_shared
def test_prompt_formats(tmp_path):
    assert len(read_prompts(GRPO_32)) == 32  # MedicalGPT question/answer
    f = write_jsonl(
        tmp_path / "p.jsonl",
        [{"prompt": "a"}, {"prompt": [{"role": "user", "content": "b"}]},
         {"messages": [{"role": "user", "content": "c"}, {"role": "assistant", "content": "drop me"}]}],
    )  # fmt: skip
    assert [p[-1]["content"] for p in read_prompts(f)] == ["a", "b", "c"]
    (tmp_path / "p.txt").write_text("第一个问题\n\nsecond question\n")
    assert [p[0]["content"] for p in read_prompts(tmp_path / "p.txt")] == ["第一个问题", "second question"]


def test_pretraining_text_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("doc one line\nstill one\n\n\ndoc two\n")
    write_jsonl(tmp_path / "b.jsonl", [{"text": "doc three"}])
    report = ReadReport()
    assert read_texts(tmp_path, report=report) == ["doc one line\nstill one", "doc two", "doc three"]
    assert report.records == 3 and len(report.files) == 2


# ---------------------------------------------------------------------------------------------
# malformed data


@pytest.mark.parametrize(
    "bad, reason",
    [
        ('{"conversations": [{"from": "human", "value": "q"}', "invalid JSON"),
        ('{"conversations": [{"from": "gpt", "value": "a"}]}', "expected 'user'"),
        ('{"conversations": [{"from": "human", "value": "q"}]}', "last turn must be the assistant's"),
        ('{"conversations": [{"from": "doctor", "value": "q"}]}', "unknown role"),
        (
            '{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "a"}]}',
            "non-empty",
        ),
        ('{"question": "q"}', "unknown SFT record"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_malformed_sft_record_names_file_and_line(tmp_path, bad, reason):
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    f = write_jsonl(tmp_path / "d.jsonl", [good, good, bad, good])
    with pytest.raises(DataFormatError) as err:
        read_conversations(f)
    assert err.value.line == 3 and err.value.path == str(f)
    assert str(err.value).startswith(f"{f}:3: ") and reason in str(err.value)


def test_skip_bad_skips_and_counts(tmp_path):
    good = {"prompt": "q", "chosen": "a", "rejected": "b"}
    f = write_jsonl(
        tmp_path / "p.jsonl",
        [good, "not json", {"prompt": "q"}, good, {"prompt": "q", "chosen": "x", "rejected": "x"}],
    )
    with pytest.raises(DataFormatError, match=r"p\.jsonl:2: invalid JSON"):
        read_preferences(f)
    report = ReadReport()
    assert len(read_preferences(f, skip_bad=True, report=report)) == 2
    assert report.records == 2 and report.skipped == 3
    assert any(":5: chosen and rejected are identical" in e for e in report.skipped_examples)


def test_malformed_json_list_and_missing_file(tmp_path):
    (tmp_path / "d.json").write_text('[{"instruction": "i", "output": "o"}, {"instruction": "i"}]')
    with pytest.raises(DataFormatError, match=r"d\.json:2: unknown SFT record"):
        read_conversations(tmp_path / "d.json")
    with pytest.raises(FileNotFoundError, match="data file not found"):
        read_conversations(tmp_path / "missing.jsonl")


def test_read_split_is_deterministic_and_fingerprinted(tmp_path):
    rows = [{"prompt": f"question {i}"} for i in range(20)]
    f = write_jsonl(tmp_path / "p.jsonl", rows)

    class Cfg:
        train_files, eval_files, skip_bad, max_samples, eval_fraction, seed = (
            [str(f)],
            [],
            False,
            None,
            0.25,
            3,
        )

    train, held, data = read_split(Cfg, read_prompts)
    again = read_split(Cfg, read_prompts)
    assert (train, held) == again[:2] and len(held) == 5 and len(train) == 15
    assert data["train_records"] == 15 and data["eval_records"] == 5 and data["records"] == 20
    assert data["sha256"] == fingerprint(ReadReport(files=[str(f)]))["sha256"]
    f.write_text(f.read_text().replace("question 7", "question seven"))
    assert read_split(Cfg, read_prompts)[2]["sha256"] != data["sha256"]


# ---------------------------------------------------------------------------------------------
# one chat-template source: SFT ids == served prompt ids


CONVERSATION = [
    {"role": "system", "content": "你是一个谨慎的医学助手。"},
    {"role": "user", "content": "我最近血压145/95，需要吃药吗？"},
    {"role": "assistant", "content": "一次测量偏高还不能确诊，建议多测几次并就医。"},
    {"role": "user", "content": "What about salt?"},
    {"role": "assistant", "content": "Less than 5 g a day."},
]


def test_sft_rendering_is_byte_identical_to_the_served_prompt(tiny_model_dir):
    from model.generate import GenerationSettings, LocalEngine
    from model.load import load_model

    loaded = load_model(str(tiny_model_dir), device="cpu")
    engine, tok = LocalEngine(loaded), loaded.tokenizer
    ids, mask = conversation_ids(tok, CONVERSATION)
    replies = [i for i, m in enumerate(CONVERSATION) if m["role"] == "assistant"]
    starts = [k for k in range(len(mask)) if mask[k] and (k == 0 or not mask[k - 1])]
    assert len(starts) == len(replies)
    for turn, start in zip(replies, starts, strict=True):
        served = engine.prepare(CONVERSATION[:turn], GenerationSettings())
        assert served.text == render(tok, CONVERSATION[:turn], add_generation_prompt=True)
        served_ids = tok(served.text, add_special_tokens=False)["input_ids"]
        # the SFT sequence up to this reply is exactly the served prompt, text and token ids
        assert ids[:start] == served_ids
        assert tok.decode(ids[:start]) == served.text
        # the labelled span is the reply and its end-of-turn token, nothing else
        end = start + next((n for n, b in enumerate(mask[start:]) if not b), len(mask) - start)
        assert tok.decode(ids[start:end]) == CONVERSATION[turn]["content"] + tok.eos_token
    assert tok.decode(ids) == render(tok, CONVERSATION, add_generation_prompt=False).rstrip("\n")


def test_assistant_mask_matches_the_templates_generation_markers(tiny_tokenizer):
    """The chatml fallback template marks replies with {% generation %}; transformers' mask from those
    markers labels the same text as conversation_ids."""
    ids, mask = conversation_ids(tiny_tokenizer, CONVERSATION)
    ours = tiny_tokenizer.decode([t for t, b in zip(ids, mask, strict=True) if b])
    marked = tiny_tokenizer.apply_chat_template(
        CONVERSATION, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    theirs = tiny_tokenizer.decode(
        [t for t, b in zip(marked["input_ids"], marked["assistant_masks"], strict=True) if b]
    )
    assert (
        ours
        == theirs
        == "".join(m["content"] + "<|im_end|>" for m in CONVERSATION if m["role"] == "assistant")
    )


def test_template_that_rewrites_history_gives_one_example_per_turn(tiny_tokenizer):
    """A template that re-renders earlier turns (here: it drops the system prompt once the
    conversation has a second user turn) trains each reply in its own served context."""
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    tok.chat_template = (
        "{%- set n = messages | selectattr('role', 'equalto', 'user') | list | length %}"
        "{%- for m in messages %}{%- if not (m['role'] == 'system' and n > 1) %}"
        "{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    )
    examples = conversation_examples(tok, CONVERSATION)
    assert len(examples) == 2
    for (ids, mask), turn in zip(examples, (2, 4), strict=True):
        start = mask.index(1)
        assert tok.decode(ids[:start]) == render(tok, CONVERSATION[:turn])
        assert tok.decode(ids[start:]) == CONVERSATION[turn]["content"] + "<|im_end|>"
    # rm and dpo score the final reply in its served context
    assert conversation_ids(tok, CONVERSATION) == examples[-1]
