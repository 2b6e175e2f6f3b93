"""Load any Hugging Face causal LM (hub id or local path) for serving: bf16/fp32, 4-bit NF4 or 8-bit
through bitsandbytes, with an optional LoRA adapter on top, and the chat template installed.

    python -m model.load --model Qwen/Qwen2.5-7B-Instruct --quant 4bit     # prints what was loaded

A folder holding only a LoRA adapter (adapter_config.json, as `training sft` writes with LoRA) is
accepted as --model: its base model is read from the adapter's config.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from model.chat import TEMPLATE_CHOICES, apply_template, pick_template

log = logging.getLogger(__name__)

QUANT_CHOICES = ("none", "4bit", "8bit")
DEVICE_CHOICES = ("auto", "cpu", "cuda")


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded, with a message that says why and what to do."""


@dataclass
class LoadedModel:
    """A ready-to-generate model, its tokenizer (chat template installed) and how it was loaded."""

    model: object
    tokenizer: object
    name: str
    quant: str
    device: str
    dtype: str
    adapter: str | None = None
    template: str = "model"

    @property
    def max_context(self) -> int:
        """The model's context window in tokens (from its config)."""
        return int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)

    def describe(self) -> str:
        """One line for the UI / logs: model, quantization, device."""
        quant = {"none": self.dtype, "4bit": "4-bit NF4", "8bit": "8-bit"}[self.quant]
        device = self.device if self.device != "cpu" else "CPU (no GPU: slow)"
        adapter = f" + adapter {self.adapter}" if self.adapter else ""
        return f"{self.name}{adapter} · {quant} · {device}"


def _looks_like_path(name: str) -> bool:
    """Hub ids are 'name' or 'org/name'; anything else (absolute, ./, ~, deeper) is meant as a path."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or name.endswith("/")


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(
            "--device cuda was asked for, but this machine has no CUDA GPU; use --device cpu"
        )
    if device not in DEVICE_CHOICES:
        raise ModelLoadError(f"unknown device {device!r}; choose from {', '.join(DEVICE_CHOICES)}")
    return device


def quantization_config(quant: str, device: str):
    """BitsAndBytesConfig for ``quant`` (None for "none"): NF4 with double quantization, bf16 compute
    on a GPU that supports it (fp16 otherwise, fp32 on CPU)."""
    import torch

    if quant not in QUANT_CHOICES:
        raise ModelLoadError(f"unknown quantization {quant!r}; choose from {', '.join(QUANT_CHOICES)}")
    if quant == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as err:
        raise ModelLoadError(
            f"--quant {quant} needs bitsandbytes, which is not installed here: pip install bitsandbytes"
        ) from err
    from transformers import BitsAndBytesConfig

    if quant == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if device == "cuda":
        compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        compute = torch.float32
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )


def _check_source(name: str) -> tuple[str, str | None]:
    """Return (base model, adapter dir or None); raise clear errors for paths that are not models."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{name} is a file; --model wants a model folder or a Hugging Face id")
        if (path / "config.json").exists():
            return str(path), None
        adapter_cfg = path / "adapter_config.json"
        if adapter_cfg.exists():
            base = json.loads(adapter_cfg.read_text()).get("base_model_name_or_path")
            if not base:
                raise ModelLoadError(f"{adapter_cfg} names no base model; pass --model BASE --adapter {name}")
            return base, str(path)
        raise ModelLoadError(f"{name} is not a model folder: it has no config.json (nor adapter_config.json)")
    if _looks_like_path(name):
        raise ModelLoadError(f"Model path not found: {name}")
    return name, None


def _config(name: str, trust_remote_code: bool):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise ModelLoadError(
            f"Could not load {name!r}: not a local folder, and the Hugging Face Hub could not provide it "
            f"(unknown id, gated model, or no network). Download it first or pass a local path. ({err})"
        ) from err
    except ValueError as err:
        raise ModelLoadError(f"Could not read the config of {name!r}: {err}") from err


def _check_causal_lm(name: str, config) -> None:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    remote = getattr(config, "auto_map", None) or {}
    # BERT-style encoders also have a causal-LM head class, but a saved encoder (is_decoder unset;
    # only those configs carry the attribute) is a masked LM, not a chat model.
    encoder = config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(
        config, "is_decoder", False
    )
    if (
        config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not encoder
    ) or "AutoModelForCausalLM" in remote:
        return
    raise ModelLoadError(
        f"{name} is a {config.model_type!r} model ({type(config).__name__}), not a causal language model: "
        "medchat serves decoder-only chat models (Qwen, Llama, Baichuan, Ziya/ChiMed-GPT, ...)"
    )


def load_model(
    name: str,
    quant: str = "none",
    adapter: str | None = None,
    device: str = "auto",
    chat_template: str = "auto",
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Load a causal LM for generation.

    Args:
        name: Hugging Face id or local folder (a full model, or a LoRA adapter folder).
        quant: "none" (bf16 on GPU, fp32 on CPU), "4bit" (NF4, double quantization) or "8bit".
        adapter: optional LoRA adapter folder applied on top of the base model.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        chat_template: "auto", "model" or a fallback name from model/chat.py TEMPLATES.
        trust_remote_code: allow model code from the hub (Baichuan needs it).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base, adapter_from_name = _check_source(name)
    adapter = adapter or adapter_from_name
    if adapter and not (Path(adapter) / "adapter_config.json").exists():
        raise ModelLoadError(f"Adapter folder {adapter} has no adapter_config.json (is it a LoRA adapter?)")
    device = _resolve_device(device)
    config = _config(base, trust_remote_code)
    _check_causal_lm(base, config)
    bnb = quantization_config(quant, device)
    if device == "cpu":
        log.warning("No GPU in use: %s runs on the CPU, slowly.", name)
        dtype = torch.float32
    else:
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    kwargs = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if bnb is not None:
        kwargs["quantization_config"] = bnb
        kwargs["device_map"] = {"": 0} if device == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(base, **kwargs)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelLoadError(f"Could not load the weights of {base!r}: {err}") from err
    if bnb is None:
        model.to(device)
    # A trained adapter folder carries the tokenizer (and chat template) it was trained with.
    tok_source = adapter if adapter and (Path(adapter) / "tokenizer_config.json").exists() else base
    tokenizer = AutoTokenizer.from_pretrained(tok_source, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    template = pick_template(name, tokenizer, chat_template)
    apply_template(tokenizer, template)
    loaded = LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        quant=quant,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        adapter=adapter if adapter != adapter_from_name else None,
        template=template or "model",
    )
    log.info("Loaded %s", loaded.describe())
    return loaded


def add_model_args(parser: argparse.ArgumentParser, default_model: str | None = None) -> None:
    """The model flags shared by app.py, model.server, evaluation and datagen's local backend."""
    parser.add_argument("--model", default=default_model, help="Hugging Face id or local folder")
    parser.add_argument("--quant", choices=QUANT_CHOICES, default="none", help="bitsandbytes quantization")
    parser.add_argument("--adapter", default=None, help="LoRA adapter folder to apply on top of --model")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument(
        "--chat-template",
        choices=TEMPLATE_CHOICES,
        default="auto",
        help="auto: the model's own, else guessed from its name (ChiMed-GPT, Ziya), else chatml",
    )
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow model code from the hub (Baichuan)"
    )


def load_from_args(args: argparse.Namespace) -> LoadedModel:
    return load_model(
        args.model, args.quant, args.adapter, args.device, args.chat_template, args.trust_remote_code
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_args(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        loaded = load_from_args(args)
    except ModelLoadError as err:
        raise SystemExit(f"error: {err}") from None
    print(loaded.describe())
    print(f"context window: {loaded.max_context} tokens; chat template: {loaded.template}")


if __name__ == "__main__":
    main()
