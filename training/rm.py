"""Reward model on preference pairs (TRL RewardTrainer): a scalar head scores a conversation, trained
so the chosen reply scores above the rejected one (Bradley-Terry loss).

    python -m training rm --config recipes/rm/tiny.yaml
    python -m training rm --config recipes/rm/qwen2.5-7b-qlora.yaml --from runs/sft --output_dir runs/rm

Reads the same preference formats as dpo (training/data.py). Each pair is rendered with
model/chat.py as prompt + reply, the way ``rl`` scores sampled replies. ``metrics.json`` records the
pairwise accuracy (share of pairs where chosen outscores rejected) on the training and held-out
pairs before and after training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from trl import RewardConfig, get_peft_config

from training.common import (
    StageArgs,
    load_for_training,
    metrics_log_callback,
    parse_config,
    report,
    resolve_base,
    save_stage,
    train_with_measurements,
)
from training.data import PreferencePair, conversation_ids, read_preferences, read_split
from training.dpo import MEASURED_PAIRS

log = logging.getLogger("training.rm")


@dataclass
class RMConfig(StageArgs, RewardConfig):
    """Reward-model stage: StageArgs + TRL's RewardConfig (max_length, center_rewards_coefficient...)."""

    stage = "rm"
    previous = "sft"
    learning_rate: float = field(default=1e-5, metadata={"help": "Peak learning rate (AdamW)."})
    lora_task_type: str = field(
        default="SEQ_CLS",
        metadata={"help": "LoRA task type: SEQ_CLS trains the scalar head with the adapter."},
    )


def reply_ids(tokenizer, prompt: list[dict], reply: str) -> list[int]:
    """Token ids of prompt + assistant reply, as the reward model sees them (model/chat.py rendering)."""
    return conversation_ids(tokenizer, prompt + [{"role": "assistant", "content": reply}])[0]


def score(
    model, tokenizer, prompts: list[list[dict]], replies: list[str], batch_size: int = 16
) -> list[float]:
    """Reward of each (prompt, reply): the scalar head's output on the rendered conversation."""
    import torch

    was_training = model.training
    model.eval()
    scores: list[float] = []
    pad = tokenizer.pad_token_id
    for start in range(0, len(prompts), batch_size):
        ids = [
            reply_ids(tokenizer, p, r)
            for p, r in zip(
                prompts[start : start + batch_size], replies[start : start + batch_size], strict=True
            )
        ]
        width = max(len(x) for x in ids)
        # right padding: the sequence-classification head reads the last non-pad token
        x = torch.tensor([row + [pad] * (width - len(row)) for row in ids], device=model.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids], device=model.device)
        with torch.no_grad():
            scores += model(input_ids=x, attention_mask=mask).logits[:, 0].float().tolist()
    model.train(was_training)
    return scores


def pairwise_accuracy(model, tokenizer, pairs: list[PreferencePair]) -> float:
    """Share of pairs (the first MEASURED_PAIRS) whose chosen reply scores strictly above the rejected one."""
    pairs = pairs[:MEASURED_PAIRS]
    prompts = [p.prompt for p in pairs]
    chosen = score(model, tokenizer, prompts, [p.chosen for p in pairs])
    rejected = score(model, tokenizer, prompts, [p.rejected for p in pairs])
    return sum(c > r for c, r in zip(chosen, rejected, strict=True)) / max(1, len(pairs))


def tokenize_pairs(tokenizer, pairs: list[PreferencePair]):
    """RewardTrainer's pre-tokenized form: ``chosen_ids`` / ``rejected_ids``."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "chosen_ids": [reply_ids(tokenizer, p.prompt, p.chosen) for p in pairs],
            "rejected_ids": [reply_ids(tokenizer, p.prompt, p.rejected) for p in pairs],
        }
    )


def train(cfg: RMConfig, callbacks=()):
    """Run the stage (extra TrainerCallbacks optional); returns (trainer, metrics)."""
    from trl import RewardTrainer

    base = resolve_base(cfg)
    model, tokenizer = load_for_training(cfg, base, task="reward")
    train_pairs, held_pairs, data = read_split(cfg, read_preferences)
    trainer = RewardTrainer(
        model=model,
        args=cfg,
        train_dataset=tokenize_pairs(tokenizer, train_pairs),
        eval_dataset=tokenize_pairs(tokenizer, held_pairs) if held_pairs else None,
        processing_class=tokenizer,
        peft_config=get_peft_config(cfg),
        callbacks=[metrics_log_callback(Path(cfg.output_dir) / "metrics.jsonl", not cfg.resume), *callbacks],
    )
    metrics = train_with_measurements(
        trainer, cfg, "accuracy", lambda m, rows: pairwise_accuracy(m, tokenizer, rows), train_pairs, held_pairs,
        evaluate=False,
    )  # fmt: skip
    save_stage(cfg, trainer.model, tokenizer, base, metrics, data, task="reward", trainer=trainer)
    return trainer, metrics


def main(argv: list[str] | None = None) -> None:
    cfg = parse_config(RMConfig, argv)
    _, metrics = train(cfg)
    report({k: v for k, v in metrics.items() if "accuracy" in k or "loss" in k}, cfg.output_dir)


if __name__ == "__main__":
    main()
