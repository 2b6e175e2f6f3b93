"""Direct preference optimisation on preference pairs (TRL DPOTrainer): the offline alternative to
rm + rl.

    python -m training dpo --config recipes/dpo/tiny.yaml
    python -m training dpo --config recipes/dpo/qwen2.5-7b-qlora.yaml --from runs/sft --output_dir runs/dpo

Reads TRL's conversational ``prompt/chosen/rejected`` (what ``training export-feedback`` writes),
the string form and MedicalGPT's ``conversations/chosen/rejected`` (training/data.py). The
reference model is the starting model (with LoRA: the base with the adapter switched off).
Besides TRL's logs, the stage measures the mean log-probability margin
log p(chosen) - log p(rejected) of the policy on the training and held-out pairs before and
after training (``metrics.json``: ``margin_before`` / ``margin_after``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import DPOConfig, get_peft_config

from training.common import (
    StageArgs,
    load_for_training,
    load_reference_model,
    metrics_log_callback,
    parse_config,
    report,
    resolve_base,
    save_stage,
    train_with_measurements,
)
from training.data import PreferencePair, conversation_ids, read_preferences, read_split

log = logging.getLogger("training.dpo")
# the before/after measurements (margins here, pairwise accuracy in rm) use at most this many pairs of
# each set: one forward pass per reply, so a large preference set does not double the run's time
MEASURED_PAIRS = 256


@dataclass
class DPOStageConfig(StageArgs, DPOConfig):
    """DPO stage: StageArgs + TRL's DPOConfig (beta, loss_type, max_length...)."""

    stage = "dpo"
    previous = "sft"
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate (AdamW)."})


def reply_logprob(model, tokenizer, prompt: list[dict], reply: str) -> float:
    """Summed log-probability (nats) of ``reply`` after ``prompt`` under ``model``, the reply's tokens
    as SFT labels them (model/chat.py rendering)."""
    import torch

    ids, mask = conversation_ids(tokenizer, prompt + [{"role": "assistant", "content": reply}])
    x = torch.tensor([ids], device=model.device)
    with torch.no_grad():
        logits = model(input_ids=x).logits[0, :-1].float()  # (T-1, vocab): predicts tokens 1..T-1
    logp = torch.log_softmax(logits, -1).gather(1, x[0, 1:, None])[:, 0]
    keep = torch.tensor(mask[1:], dtype=torch.bool, device=logp.device)
    return float(logp[keep].sum())


def mean_margin(model, tokenizer, pairs: list[PreferencePair]) -> float:
    """Mean of log p(chosen) - log p(rejected) over the first MEASURED_PAIRS of ``pairs`` (nats)."""
    was_training = model.training
    model.eval()
    margins = [
        reply_logprob(model, tokenizer, p.prompt, p.chosen)
        - reply_logprob(model, tokenizer, p.prompt, p.rejected)
        for p in pairs[:MEASURED_PAIRS]
    ]
    model.train(was_training)
    return sum(margins) / max(1, len(margins))


def train(cfg: DPOStageConfig, callbacks=()):
    """Run the stage (extra TrainerCallbacks optional); returns (trainer, metrics)."""
    from datasets import Dataset
    from trl import DPOTrainer

    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base)
    train_pairs, held_pairs, data = read_split(cfg, read_preferences)
    # Conversational records: DPOTrainer renders them with the tokenizer's chat template, the one
    # model/chat.py installed (tests/test_train_stages.py checks the prompt ids match the server's).
    train_ds = Dataset.from_list([p.to_trl() for p in train_pairs])
    eval_ds = Dataset.from_list([p.to_trl() for p in held_pairs]) if held_pairs else None
    trainer = DPOTrainer(
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
        trainer, cfg, "margin", lambda m, rows: mean_margin(m, tokenizer, rows), train_pairs, held_pairs
    )
    save_stage(cfg, trainer.model, tokenizer, base, metrics, data, trainer=trainer)
    return trainer, metrics


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(DPOStageConfig, argv)
    _, metrics = train(cfg)
    report({k: v for k, v in metrics.items() if "margin" in k or "loss" in k}, cfg.output_dir)


if __name__ == "__main__":
    main()
