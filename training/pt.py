"""Continued pre-training on raw medical text (TRL SFTTrainer as a language-modelling trainer).

    python -m training pt --config recipes/pt/tiny.yaml
    python -m training pt --config recipes/pt/qwen2.5-7b-qlora.yaml --output_dir runs/pt

Reads ``.txt`` files (documents separated by blank lines) and JSONL ``{"text": ...}`` records
(training/data.py). Each document ends with the EOS token (and starts with BOS for models that use
one); documents are concatenated and cut into fixed ``max_length``-token blocks (``packing`` with
the ``wrapped`` strategy), and every token carries loss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from trl import SFTConfig

from training.common import StageArgs, load_for_training, parse_config, report, resolve_base
from training.data import read_split, read_texts
from training.sft import fit

log = logging.getLogger("training.pt")


@dataclass
class PTConfig(StageArgs, SFTConfig):
    """Pre-training stage: StageArgs + TRL's SFTConfig, packing text into max_length-token blocks."""

    stage = "pt"
    previous = None
    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate (AdamW)."})
    packing: bool = field(default=True, metadata={"help": "Concatenate documents into max_length blocks."})
    packing_strategy: str = field(
        default="wrapped",
        metadata={
            "help": "wrapped: cut the token stream into full blocks (classic pre-training).",
            "choices": ["bfd", "bfd_split", "wrapped"],
        },
    )


def tokenize_texts(tokenizer, docs: list[str]):
    """A datasets.Dataset of ``input_ids``: BOS (if the model has one) + text + EOS per document."""
    from datasets import Dataset

    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    eos = [tokenizer.eos_token_id]
    ids = [bos + tokenizer(doc, add_special_tokens=False)["input_ids"] + eos for doc in docs]
    return Dataset.from_dict({"input_ids": ids})


def load_data(cfg, tokenizer):
    """(train dataset, eval dataset or None, fingerprint) for the pt config."""
    train, held, data = read_split(cfg, read_texts)
    train_ds = tokenize_texts(tokenizer, train)
    data["train_tokens"] = sum(len(x) for x in train_ds["input_ids"])
    return train_ds, (tokenize_texts(tokenizer, held) if held else None), data


def train(cfg: PTConfig, callbacks=()):
    """Run the stage from its config (extra TrainerCallbacks optional); returns (trainer, metrics)."""
    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base)
    train_ds, eval_ds, data = load_data(cfg, tokenizer)
    return fit(cfg, model, tokenizer, base, train_ds, eval_ds, data, callbacks)


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(PTConfig, argv)
    _, metrics = train(cfg)
    report({k: v for k, v in metrics.items() if "loss" in k}, cfg.output_dir)


if __name__ == "__main__":
    main()
