"""model/generate.py: the one streaming generator (TextStream), batched generation and LocalEngine."""

import threading
import time

import pytest
import torch

from model.decoding import IncrementalDecoder, split_at_partial_stop
from model.generate import (
    GenerationError,
    GenerationSettings,
    LocalEngine,
    TextStream,
    generate_batch,
)
from model.load import load_model

QUESTION = [{"role": "user", "content": "孩子发烧38.5度，需要马上去医院吗？"}]


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return LocalEngine(load_model(str(tiny_model_dir)))


def _raw_greedy(engine, prompt_text, n):
    tok = engine.tokenizer
    ids = tok(prompt_text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    out = engine.model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def test_stream_yields_growing_text_equal_to_raw_generate(engine):
    settings = GenerationSettings(max_new_tokens=40, temperature=0, repetition_penalty=1.0)
    prompt = engine.prepare(QUESTION, settings)
    # interval 0: the consumer wakes at every token, so a fast tiny model still streams in pieces
    stream = TextStream(engine.model, engine.tokenizer, prompt.text, settings, stream_interval_s=0)
    so_far, snapshots = "", []
    for piece in stream:
        assert piece  # no empty pieces
        so_far += piece
        snapshots.append(so_far)
    assert len(snapshots) >= 3
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(snapshots, snapshots[1:], strict=False))
    assert so_far == _raw_greedy(engine, prompt.text, 40)
    assert stream.finish_reason == "length" and stream.completion_tokens == 40
    assert stream.prompt_tokens == prompt.n_tokens
    assert 0 < stream.time_to_first_token < 60


def test_stream_interval_merges_tokens_into_fewer_pieces_with_the_same_text(engine):
    settings = GenerationSettings(max_new_tokens=200, temperature=0, repetition_penalty=1.0)
    prompt = engine.prepare(QUESTION, settings).text
    runs = {}
    for interval in (0, 0.02, 10):
        stream = TextStream(engine.model, engine.tokenizer, prompt, settings, stream_interval_s=interval)
        runs[interval] = list(stream)
        assert stream.completion_tokens == 200 and stream.finish_reason == "length"
    texts = {interval: "".join(pieces) for interval, pieces in runs.items()}
    assert texts[0] == texts[0.02] == texts[10] == _raw_greedy(engine, prompt, 200)
    # a 10 s interval: the first piece comes at once, everything else when the reply ends
    assert len(runs[10]) == 2
    assert len(runs[0.02]) <= len(runs[0])
    with pytest.raises(ValueError, match="stream_interval_s must be >= 0"):
        TextStream(engine.model, engine.tokenizer, prompt, settings, stream_interval_s=-1)


def _sentencepiece_style_tokenizer():
    """A Llama-style tokenizer (Metaspace "▁" words, byte fallback, leading space stripped on decode)
    built by hand: characters outside its vocabulary become UTF-8 byte tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for ch in "▁abcdefghijklmnopqrstuvwxyzT.,发烧头痛请休息":
        vocab[ch] = len(vocab)
    merges = [("▁", "t"), ("▁t", "h"), ("▁th", "e"), ("发", "烧"), ("h", "e")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    bpe.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>")


@pytest.mark.parametrize("kind", ["byte-level BPE", "sentencepiece-style"])
@pytest.mark.parametrize("step", [1, 2, 3])
def test_incremental_decoding_equals_decoding_everything(tiny_tokenizer, kind, step):
    tok = tiny_tokenizer if kind == "byte-level BPE" else _sentencepiece_style_tokenizer()
    text = "The fever 发烧 and headache 头痛: rest 请休息, drink 💧 water 龘 then the end."
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    decoder, pieces = IncrementalDecoder(tok), []
    for upto in range(step, len(ids) + step, step):
        upto = min(upto, len(ids))
        pieces.append(decoder.step(ids, upto, final=upto == len(ids)))
    assert "".join(pieces) == tok.decode(ids, skip_special_tokens=True)
    assert not any("\ufffd" in p for p in pieces)  # a character split over byte tokens waits whole
    if kind == "sentencepiece-style":
        assert sum(tok.convert_ids_to_tokens(i).startswith("<0x") for i in ids) >= 6  # bytes were used


def test_sampling_settings_reach_generate(engine):
    torch.manual_seed(0)
    settings = GenerationSettings(max_new_tokens=30, temperature=1.5, top_p=1.0, repetition_penalty=1.0)
    sampled = engine.chat(QUESTION, settings)
    greedy = engine.chat(
        QUESTION, GenerationSettings(max_new_tokens=30, temperature=0, repetition_penalty=1.0)
    )
    assert sampled != greedy
    kwargs = settings.generate_kwargs(engine.tokenizer)
    assert kwargs["do_sample"] and kwargs["temperature"] == 1.5 and kwargs["top_p"] == 1.0
    greedy_kwargs = GenerationSettings(temperature=0).generate_kwargs(engine.tokenizer)
    assert greedy_kwargs["do_sample"] is False and greedy_kwargs["temperature"] is None


def test_closing_the_stream_cancels_generation(engine):
    _, stream = engine.stream_chat(QUESTION, GenerationSettings(max_new_tokens=3000, temperature=0))
    pieces = iter(stream)
    next(pieces)
    next(pieces)
    pieces.close()  # what Gradio does when the user presses Stop or the client disconnects
    assert stream.finish_reason == "cancelled"
    assert 0 < stream.completion_tokens < 3000
    assert not stream._thread.is_alive()


def test_cancel_event_from_outside(engine):
    cancel = threading.Event()
    _, stream = engine.stream_chat(
        QUESTION, GenerationSettings(max_new_tokens=3000, temperature=0), cancel=cancel
    )
    threading.Timer(0.2, cancel.set).start()
    stream.text()
    assert stream.finish_reason == "cancelled" and stream.completion_tokens < 3000


def test_timeout_ends_the_reply_with_finish_reason_timeout(engine):
    settings = GenerationSettings(max_new_tokens=3000, temperature=0, timeout_s=0.3)
    _, stream = engine.stream_chat(QUESTION, settings)
    start = time.perf_counter()
    stream.text()
    assert stream.finish_reason == "timeout"
    assert 0 < stream.completion_tokens < 3000
    assert time.perf_counter() - start < 10


class _BrokenModel:
    """Stands in for a model whose forward pass fails (e.g. CUDA out of memory)."""

    def __init__(self, model):
        self.device = model.device

    def generate(self, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")


def test_an_error_inside_generation_reaches_the_consumer(engine):
    stream = TextStream(
        _BrokenModel(engine.model), engine.tokenizer, "<|im_start|>user\nhi", GenerationSettings()
    )
    with pytest.raises(GenerationError, match="RuntimeError: CUDA out of memory"):
        stream.text()


def test_stop_strings_split_across_pieces_are_never_shown():
    assert split_at_partial_stop("answer [hu", ["[human]:"]) == ("answer ", "[hu")
    assert split_at_partial_stop("answer [x", ["[human]:"]) == ("answer [x", "")
    assert split_at_partial_stop("text", []) == ("text", "")


def test_generate_batch_matches_streaming_and_returns_n_samples(engine):
    settings = GenerationSettings(max_new_tokens=12, temperature=0, repetition_penalty=1.0)
    conversations = [QUESTION, [{"role": "user", "content": "What are the side effects of metformin?"}]]
    batched = engine.chat_batch(conversations, settings)
    assert [len(b) for b in batched] == [1, 1]
    for conversation, (text,) in zip(conversations, batched, strict=True):
        assert text == engine.chat(conversation, settings)  # left padding changes nothing
    sampled = generate_batch(
        engine.model, engine.tokenizer, [engine.prepare(QUESTION, settings).text],
        GenerationSettings(max_new_tokens=12, temperature=1.0), num_return_sequences=3,
    )  # fmt: skip
    assert len(sampled) == 1 and len(sampled[0]) == 3
    with pytest.raises(ValueError, match="need sampling"):
        engine.chat_batch(conversations, settings, n=2)


def test_engine_input_budget_truncates_old_turns(tiny_model_dir):
    engine = LocalEngine(load_model(str(tiny_model_dir)), max_input_tokens=120)
    settings = GenerationSettings(max_new_tokens=8)
    assert engine.input_budget(settings) == 120
    assert LocalEngine(engine.loaded).input_budget(settings) == 4096 - 8  # the context window
    history = []
    for i in range(6):
        history += [
            {"role": "user", "content": f"第{i}个问题：头痛发热" * 3},
            {"role": "assistant", "content": "建议休息" * 5},
        ]
    prompt, stream = engine.stream_chat([*history, {"role": "user", "content": "最新问题"}], settings)
    stream.text()
    assert prompt.n_tokens <= 120 and prompt.dropped_messages > 0
    assert prompt.messages[-1]["content"] == "最新问题"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_new_tokens", 0, "max_new_tokens must be at least 1"),
        ("temperature", -1, r"temperature must be 0 \(greedy\) or at least 0.01"),
        ("temperature", 1e-300, r"temperature must be 0 \(greedy\) or at least 0.01, got 1e-300"),
        ("top_p", 0, r"top_p must be in \(0, 1\]"),
        ("repetition_penalty", 0, "repetition_penalty must be between 0.05 and 20.0"),
        ("repetition_penalty", 1e300, "repetition_penalty must be between 0.05 and 20.0"),
        ("timeout_s", 0, "timeout_s must be > 0"),
    ],
)
def test_invalid_settings_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        GenerationSettings(**{field: value})


def test_the_smallest_allowed_temperature_still_samples(engine):
    """Why the floor is there: at 0.01 the sampler still works (below it the logits overflow)."""
    _, stream = engine.stream_chat(QUESTION, GenerationSettings(max_new_tokens=4, temperature=0.01))
    assert stream.text() is not None and stream.finish_reason in ("stop", "length")
