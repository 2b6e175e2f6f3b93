"""Real-model tier, chat and generation, on SmolLM2-135M-Instruct converted from its GGUF wheel
(tests/conftest.py ``smollm2_dir``): its own ChatML template (with the default system prompt it adds
when none is given) gives SFT ids byte-identical to the served prompt; streaming stops at its
end-of-turn token and shows no special tokens; a 4-bit NF4 load generates on CPU.

Run: pytest tests/test_real_chat.py      (skipped when the model wheels are not installed)
"""

import pytest

from model.generate import GenerationSettings, LocalEngine, TextStream
from model.load import load_model
from training.data import conversation_ids

pytestmark = [pytest.mark.real, pytest.mark.usefixtures("one_torch_thread")]

SMOL_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
TURNS = [
    {"role": "user", "content": "I have had a dry cough for two weeks. Should I worry?"},
    {"role": "assistant", "content": "A cough lasting over three weeks should be checked by a doctor."},
    {"role": "user", "content": "And if I also have a fever?"},
    {"role": "assistant", "content": "Then see a doctor sooner, especially if you feel short of breath."},
]
GREEDY = GenerationSettings(max_new_tokens=48, temperature=0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def engine(smollm2_dir):
    return LocalEngine(load_model(str(smollm2_dir), device="cpu"))


@pytest.mark.parametrize("system", [None, "You are a careful medical assistant."])
def test_sft_ids_are_byte_identical_to_the_served_prompt_multi_turn(engine, system):
    conversation = ([{"role": "system", "content": system}] if system else []) + TURNS
    tok = engine.tokenizer
    ids, mask = conversation_ids(tok, conversation)
    text = tok.decode(ids)
    # SmolLM2's template adds its own system turn when the conversation has none, and only then.
    assert text.startswith("<|im_start|>system\n" + (system or SMOL_SYSTEM) + "<|im_end|>\n")
    assert text.count(SMOL_SYSTEM) == (0 if system else 1)
    starts = [k for k in range(len(mask)) if mask[k] and (k == 0 or not mask[k - 1])]
    replies = [i for i, m in enumerate(conversation) if m["role"] == "assistant"]
    assert len(starts) == len(replies) == 2
    for turn, start in zip(replies, starts, strict=True):
        served = engine.prepare(conversation[:turn], GREEDY)
        assert ids[:start] == tok(served.text, add_special_tokens=False)["input_ids"]
        end = start + next((n for n, b in enumerate(mask[start:]) if not b), len(mask) - start)
        assert tok.decode(ids[start:end]) == conversation[turn]["content"] + "<|im_end|>"
        assert ids[end - 1] == tok.eos_token_id == 2


def test_stream_stops_at_im_end_and_shows_no_special_tokens(engine):
    messages = [{"role": "user", "content": "What is a normal body temperature? Answer in one sentence."}]
    settings = GenerationSettings(max_new_tokens=60, temperature=0, repetition_penalty=1.0)
    prompt = engine.prepare(messages, settings)
    stream = TextStream(engine.model, engine.tokenizer, prompt.text, settings, stream_interval_s=0)
    pieces = list(stream)
    text = "".join(pieces)
    assert stream.finish_reason == "stop" and stream.completion_tokens < 60
    assert text.strip() and not any(s in text for s in ("<|im_end|>", "<|im_start|>", "<|endoftext|>"))
    # the same reply as raw greedy generate, which stops at the EOS id itself
    ids = engine.tokenizer(prompt.text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    out = engine.model.generate(ids, max_new_tokens=60, do_sample=False, pad_token_id=2)
    assert out[0, -1].item() == 2  # ended with <|im_end|>, not the length limit
    assert engine.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True) == text


def test_nf4_load_generates_on_cpu(smollm2_dir):
    loaded = load_model(str(smollm2_dir), quant="4bit", device="cpu")
    assert loaded.describe().endswith("4-bit NF4 · CPU (no GPU: slow)")
    assert any("4bit" in type(m.weight).__name__ for m in loaded.model.modules() if hasattr(m, "weight"))
    reply = LocalEngine(loaded).chat(
        [{"role": "user", "content": "Name one symptom of the flu."}],
        GenerationSettings(max_new_tokens=12, temperature=0),
    )
    assert len(reply.split()) >= 2 and "<|im" not in reply
