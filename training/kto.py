"""Kahneman-Tversky optimisation on unpaired feedback (TRL KTOTrainer): every thumbs-up answer is a
desirable example and every thumbs-down answer an undesirable one; no pairs are needed.

    python -m training export-feedback --format kto --db artifacts/feedback.sqlite --out kto.jsonl
    python -m training kto --config recipes/kto/tiny.yaml --from runs/sft --train_files kto.jsonl

Reads TRL's unpaired records ``{"prompt", "completion", "label"}`` (training/data.py). The messages
handed to KTOTrainer are model/chat.py's ``template_messages`` (text neutralised, reasoning in the
thinking format), so the trainer's own chat-template rendering equals what the app and the API
server serve. The reference model is the starting model (with LoRA: the base with the adapter off).
Besides TRL's logs, the stage measures the reward margin the way DPO does: mean log p(desirable)
minus mean log p(undesirable) of the policy, on the training and held-out examples, before and
after training (``metrics.json``: ``margin_before`` / ``margin_after``, ``eval_margin_*``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import KTOConfig, get_peft_config

from model.chat import template_messages
from training.common import (
    StageArgs,
    StageError,
    load_for_training,
    load_reference_model,
    metrics_log_callback,
    parse_config,
    report,
    resolve_base,
    save_stage,
    train_with_measurements,
)
from training.data import UnpairedExample, read_split, read_unpaired
from training.dpo import MEASURED_PAIRS, reply_logprob

log = logging.getLogger("training.kto")


@dataclass
class KTOStageConfig(StageArgs, KTOConfig):
    """KTO stage: StageArgs + TRL's KTOConfig (beta, desirable_weight, undesirable_weight...)."""

    stage = "kto"
    previous = "sft"
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate (AdamW)."})


def to_trl(tokenizer, example: UnpairedExample) -> dict:
    """TRL's conversational unpaired record, its messages as model/chat.py renders them."""
    messages = template_messages(
        tokenizer, [*example.prompt, {"role": "assistant", "content": example.completion}]
    )
    return {"prompt": messages[:-1], "completion": messages[-1:], "label": example.label}


def margin(model, tokenizer, examples: list[UnpairedExample]) -> float | None:
    """Mean log p(desirable reply) - mean log p(undesirable reply) (nats) over the first
    MEASURED_PAIRS examples of each kind; None without both kinds."""
    was_training = model.training
    model.eval()
    scores: dict[bool, list[float]] = {True: [], False: []}
    for label in (True, False):
        for e in [e for e in examples if e.label is label][:MEASURED_PAIRS]:
            scores[label].append(reply_logprob(model, tokenizer, e.prompt, e.completion))
    model.train(was_training)
    if not scores[True] or not scores[False]:
        return None
    return sum(scores[True]) / len(scores[True]) - sum(scores[False]) / len(scores[False])


def train(cfg: KTOStageConfig, callbacks=()):
    """Run the stage (extra TrainerCallbacks optional); returns (trainer, metrics)."""
    from datasets import Dataset
    from trl import KTOTrainer

    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base)
    train_ex, held_ex, data = read_split(cfg, read_unpaired)
    kinds = {e.label for e in train_ex}
    if kinds != {True, False}:
        missing = "undesirable (thumbs-down)" if True in kinds else "desirable (thumbs-up)"
        raise StageError(f"the KTO training data holds no {missing} examples: it needs both kinds")
    data["desirable"], data["undesirable"] = (
        sum(e.label for e in train_ex),
        sum(not e.label for e in train_ex),
    )
    train_ds = Dataset.from_list([to_trl(tokenizer, e) for e in train_ex])
    eval_ds = Dataset.from_list([to_trl(tokenizer, e) for e in held_ex]) if held_ex else None
    trainer = KTOTrainer(
        model=model,
        ref_model=load_reference_model(cfg, base),
        args=cfg,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=get_peft_config(cfg),
        callbacks=[metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", not cfg.resume), *callbacks],
    )
    metrics = train_with_measurements(
        trainer, cfg, "margin", lambda m, rows: margin(m, tokenizer, rows), train_ex, held_ex
    )
    save_stage(cfg, trainer.model, tokenizer, base, metrics, data, trainer=trainer)
    return trainer, metrics


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(KTOStageConfig, argv)
    _, metrics = train(cfg)
    report({k: v for k, v in metrics.items() if "margin" in k or "loss" in k}, cfg.output_dir)


if __name__ == "__main__":
    main()
