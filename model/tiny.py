"""Small local models built from scratch, for the offline demo (training/demo.py), tests and benchmarks.

No download: a byte-level BPE tokenizer is trained on the given texts (Chinese and English) and a
Llama-architecture model is initialised at random. The tokenizer carries the ChatML template from
model/chat.py, so a tiny model is served and trained exactly like a real one.

Used as a library, e.g.::

    tok = train_tokenizer(texts, vocab_size=2000)
    model = tiny_llama(tok, hidden_size=64, num_layers=2)
    save(model, tok, "artifacts/tiny")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from model.chat import apply_template

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4000):
    """Train a byte-level BPE tokenizer on ``texts`` and wrap it as a transformers fast tokenizer.

    Byte-level BPE covers any input (Chinese characters start as 3 UTF-8 bytes and merge into
    single tokens when frequent). ``<|im_end|>`` is the EOS token (it ends every ChatML turn);
    ``<|endoftext|>`` pads."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=8192,
    )
    apply_template(tokenizer, "chatml")
    return tokenizer


def tiny_llama(
    tokenizer,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 4096,
    seed: int = 0,
):
    """A randomly initialised Llama-architecture causal LM sized for ``tokenizer``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or hidden_size * 4,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def save(model, tokenizer, out_dir: str | Path) -> Path:
    """Save model + tokenizer in the standard Hugging Face layout (loadable by model/load.py)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
