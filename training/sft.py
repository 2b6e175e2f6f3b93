"""Supervised fine-tuning on multi-turn dialogues (TRL SFTTrainer), loss on assistant turns only.

    python -m training sft --config recipes/sft/tiny.yaml
    python -m training sft --config recipes/sft/qwen2.5-7b-qlora.yaml --from runs/pt --output_dir runs/sft

Reads ShareGPT ``conversations``, OpenAI ``messages`` (with ``reasoning_content``), HuatuoGPT-o1
``Question/Complex_CoT/Response`` or Alpaca ``instruction/input/output`` records (training/data.py).
Every conversation is rendered with model/chat.py, exactly as the app and the API server render
it, and only assistant replies (reasoning, answer and end-of-turn token) carry loss. A template
that rewrites earlier turns (Qwen3-style: earlier reasoning dropped) gives one example per turn,
each in its served context. ``--thinking on|off`` goes to templates that take ``enable_thinking``.

    python -m training sft --config recipes/sft/tiny-reasoning.yaml
``--packing`` packs conversations into ``max_length`` blocks without padding (best-fit decreasing;
sequences in a block do not attend to each other); without it batches are padded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import SFTConfig, get_peft_config

from training.common import (
    StageArgs,
    StageError,
    changed_fraction,
    load_for_training,
    metrics_log_callback,
    parse_config,
    report,
    resolve_base,
    resume_checkpoint,
    save_stage,
    snapshot_trainable,
)
from training.data import conversation_examples, read_conversations, read_split

log = logging.getLogger("training.sft")


@dataclass
class SFTStageConfig(StageArgs, SFTConfig):
    """SFT stage: StageArgs (model, data, LoRA) + TRL's SFTConfig (optimiser, packing, max_length...)."""

    stage = "sft"
    previous = "pt"
    learning_rate: float = field(default=2e-5, metadata={"help": "Peak learning rate (AdamW)."})
    thinking: str | None = field(
        default=None,
        metadata={
            "help": "on or off: passed as enable_thinking to chat templates that take it (Qwen3-style); "
            "default: the template's own default.",
            "choices": ["on", "off"],
        },
    )

    def __post_init__(self):
        if self.thinking not in (None, "on", "off"):
            raise StageError(f"thinking must be on or off, got {self.thinking!r}")
        super().__post_init__()


def thinking_flag(cfg) -> bool | None:
    """``--thinking on|off`` as model/chat.py's ``thinking`` argument (None: not set)."""
    return None if cfg.thinking is None else cfg.thinking == "on"


def tokenize_conversations(tokenizer, conversations: list[list[dict]], thinking: bool | None = None):
    """A datasets.Dataset of ``input_ids`` + ``assistant_masks`` (SFTTrainer turns masks into labels):
    one row per training example (training/data.py ``conversation_examples``: one per conversation,
    or one per turn where the template rewrites earlier turns)."""
    from datasets import Dataset

    rows = {"input_ids": [], "assistant_masks": []}
    for messages in conversations:
        for ids, mask in conversation_examples(tokenizer, messages, thinking):
            rows["input_ids"].append(ids)
            rows["assistant_masks"].append(mask)
    return Dataset.from_dict(rows)


def load_data(cfg, tokenizer):
    """(train dataset, eval dataset or None, fingerprint) for the SFT config."""
    train, held, data = read_split(cfg, read_conversations)
    thinking = thinking_flag(cfg)
    eval_ds = tokenize_conversations(tokenizer, held, thinking) if held else None
    train_ds = tokenize_conversations(tokenizer, train, thinking)
    data["train_examples"] = len(train_ds)  # more than train_records where the template rewrites turns
    return train_ds, eval_ds, data


def fit(cfg, model, tokenizer, base: str, train_ds, eval_ds=None, data: dict | None = None, callbacks=()):
    """Train ``model`` on pre-tokenized ``input_ids`` (+ ``assistant_masks``) with SFTTrainer and save
    the stage (pt, sft and rejection sampling share this). Returns (trainer, metrics)."""
    from trl import SFTTrainer

    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=get_peft_config(cfg),
        callbacks=[metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", not cfg.resume), *callbacks],
    )
    before = snapshot_trainable(trainer.model)
    metrics = {}
    checkpoint = resume_checkpoint(cfg)
    if eval_ds is not None and checkpoint is None:
        metrics["eval_loss_before"] = trainer.evaluate()["eval_loss"]
    metrics.update(trainer.train(resume_from_checkpoint=checkpoint).metrics)
    if eval_ds is not None:
        metrics.update(trainer.evaluate())
    metrics["trainable_changed_fraction"] = changed_fraction(before, trainer.model)
    save_stage(cfg, trainer.model, tokenizer, base, metrics, data or {}, trainer=trainer)
    return trainer, metrics


def train(cfg: SFTStageConfig, callbacks=()):
    """Run the stage from its config (extra TrainerCallbacks optional); returns (trainer, metrics)."""
    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base)
    train_ds, eval_ds, data = load_data(cfg, tokenizer)
    return fit(cfg, model, tokenizer, base, train_ds, eval_ds, data, callbacks)


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(SFTStageConfig, argv)
    _, metrics = train(cfg)
    report({k: v for k, v in metrics.items() if "loss" in k}, cfg.output_dir)


if __name__ == "__main__":
    main()
