"""Fold a LoRA adapter into its base model and save a standalone model (loadable by app.py,
model.server and every later training stage).

    python -m training merge --adapter runs/sft --out runs/sft-merged
    python -m training merge --adapter runs/rm --out runs/rm-merged --base Qwen/Qwen2.5-7B-Instruct

The base is read from the adapter (``medchat_stage.json`` or ``adapter_config.json``) unless
``--base`` names it. The base is loaded unquantized (bf16 on a GPU, fp32 on CPU) even when the
adapter was trained on a 4-bit base (QLoRA): merging into 4-bit weights would lose precision.
A reward-model adapter (task SEQ_CLS) is merged into a sequence-classification model.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from model.load import load_pretrained, load_tokenizer, model_args_for
from training.runs import STAGE_FILE, StageError

log = logging.getLogger("training.merge")


@dataclass
class MergeConfig:
    """Options of ``python -m training merge``."""

    adapter: str = field(metadata={"help": "Folder holding the LoRA adapter (a stage's output_dir)."})
    out: str = field(metadata={"help": "Folder to write the merged model to."})
    base: str | None = field(
        default=None, metadata={"help": "Base model (default: the one the adapter names)."}
    )
    dtype: str = field(
        default="auto",
        metadata={"help": "Saved weight dtype: auto (bf16 on GPU, fp32 on CPU), bfloat16, float16, float32."},
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow model code from the hub."})


def merge_adapter(
    adapter_dir: str | Path,
    out_dir: str | Path,
    base: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
) -> Path:
    """Merge the LoRA adapter in ``adapter_dir`` into its base and save the full model to ``out_dir``."""
    import torch
    from peft import PeftConfig, PeftModel

    adapter_dir, out = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / "adapter_config.json").exists():
        raise StageError(f"{adapter_dir} holds no LoRA adapter (adapter_config.json missing)")
    peft_cfg = PeftConfig.from_pretrained(str(adapter_dir))
    meta = json.loads((adapter_dir / STAGE_FILE).read_text()) if (adapter_dir / STAGE_FILE).exists() else {}
    base = base or meta.get("base_model") or peft_cfg.base_model_name_or_path
    if not base:
        raise StageError(f"{adapter_dir} does not name its base model: pass --base")
    reward = str(peft_cfg.task_type) in ("SEQ_CLS", "TaskType.SEQ_CLS")
    log.info("merging %s into %s", adapter_dir, base)
    # loaded on the CPU, unquantized, in the dtype this machine's GPU (if any) would use
    device = "cuda" if torch.cuda.is_available() else "cpu"
    task = "reward" if reward else "causal-lm"
    model = load_pretrained(base, model_args_for("none", dtype), device, task, trust_remote_code)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    model.config.use_cache = True
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    # The adapter folder carries the tokenizer (and chat template) it was trained with.
    load_tokenizer(str(adapter_dir), trust_remote_code=trust_remote_code).save_pretrained(out)
    for name in ("config.yaml", "metrics.json", "metrics.jsonl", "data.json"):
        if (adapter_dir / name).exists():
            shutil.copy(adapter_dir / name, out / name)
    meta = {**meta, "adapter": False, "merged_from": str(adapter_dir), "base_model": base}
    meta.setdefault("task", "reward" if reward else "causal-lm")
    (out / STAGE_FILE).write_text(json.dumps(meta, indent=2))
    log.info("merged model saved to %s", out)
    return out


def main(argv: list[str] | None = None) -> None:
    from trl import TrlParser

    (cfg,) = TrlParser([MergeConfig], prog="python -m training merge").parse_args_and_config(argv)
    out = merge_adapter(cfg.adapter, cfg.out, cfg.base, cfg.dtype, cfg.trust_remote_code)
    print(f"merged model saved to {out}")


if __name__ == "__main__":
    main()
