"""The one model loader: any Hugging Face model (hub id, local folder or .gguf file) for serving,
evaluation and training alike. dtype, attention kernel and bitsandbytes 4-bit NF4 / 8-bit quantization are chosen
here only, from a TRL ``ModelConfig`` (``get_quantization_config``); a training stage's config *is*
a ``ModelConfig`` (training/common.py), and ``--quant`` builds one for serving.

    python -m model.load --model Qwen/Qwen2.5-7B-Instruct --quant 4bit     # prints what was loaded

- :func:`load_model`: a causal LM ready to generate (app.py, model.server, evaluation, datagen),
  with an optional LoRA adapter on top and the chat template installed. A folder holding only a
  LoRA adapter (adapter_config.json, as ``training sft`` writes with LoRA) is accepted as --model:
  its base model is read from the adapter's config.
- :func:`load_pretrained`: the weights alone, as a causal LM (a policy, DPO's reference model) or a
  one-label sequence classifier (a reward model); training/common.py builds on it.
- :func:`load_tokenizer`: the tokenizer with the chat template model/chat.py picks.
- :func:`add_model_args`: the local-model flags every command shares.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from model.chat import TEMPLATE_CHOICES, apply_template, pick_template
from model.errors import ModelLoadError
from model.gguf import to_hf_folder

log = logging.getLogger(__name__)

QUANT_CHOICES = ("none", "4bit", "8bit")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
DTYPE_CHOICES = ("auto", "bfloat16", "float16", "float32")
TASKS = ("causal-lm", "reward")


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


def torch_dtype(name: str | None, device) -> object:
    """The torch dtype for ``name`` on ``device``: ``auto`` (or None) is bf16 on a GPU that has it,
    fp16 on an older GPU and fp32 on the CPU (bf16 on a CPU is slow and lossy); else the named dtype."""
    import torch

    if name in (None, "auto"):
        if str(device).startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if name not in DTYPE_CHOICES:
        raise ModelLoadError(f"unknown dtype {name!r}; choose from {', '.join(DTYPE_CHOICES)}")
    return getattr(torch, name)


def model_args_for(quant: str = "none", dtype: str = "auto"):
    """The TRL ``ModelConfig`` of a serving ``--quant`` choice: 4bit is NF4 with double (nested)
    quantization, 8bit is LLM.int8()."""
    from trl import ModelConfig

    if quant not in QUANT_CHOICES:
        raise ModelLoadError(f"unknown quantization {quant!r}; choose from {', '.join(QUANT_CHOICES)}")
    return ModelConfig(
        dtype=dtype,
        load_in_4bit=quant == "4bit",
        load_in_8bit=quant == "8bit",
        bnb_4bit_quant_type="nf4",
        use_bnb_nested_quant=True,
    )


def quant_of(model_args) -> str:
    """``4bit``, ``8bit`` or ``none``: the quantization a ModelConfig asks for."""
    return "4bit" if model_args.load_in_4bit else "8bit" if model_args.load_in_8bit else "none"


def quantization_config(model_args, device):
    """TRL's ``get_quantization_config`` for ``model_args`` (None when unquantized), its 4-bit
    compute dtype being the model's dtype as :func:`torch_dtype` resolves it on ``device``."""
    from trl import ModelConfig, get_quantization_config

    quant = quant_of(model_args)
    if quant == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as err:
        raise ModelLoadError(
            f"{quant} quantization needs bitsandbytes, which is not installed here: pip install bitsandbytes"
        ) from err
    # only the quantization fields, with the dtype resolved ("auto" is no torch dtype)
    resolved = ModelConfig(
        dtype=str(torch_dtype(model_args.dtype, device)).removeprefix("torch."),
        load_in_4bit=model_args.load_in_4bit,
        load_in_8bit=model_args.load_in_8bit,
        bnb_4bit_quant_type=model_args.bnb_4bit_quant_type,
        use_bnb_nested_quant=model_args.use_bnb_nested_quant,
        bnb_4bit_quant_storage=model_args.bnb_4bit_quant_storage,
    )
    return get_quantization_config(resolved)


def resolve_source(name: str) -> tuple[str, str | None]:
    """(base model, adapter folder or None) for ``--model``; clear errors for paths that are not models."""
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


def _config(name: str, trust_remote_code: bool, revision: str = "main"):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, trust_remote_code=trust_remote_code, revision=revision)
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


def load_pretrained(
    path: str, model_args, device="cpu", task: str = "causal-lm", trust_remote_code: bool = False
):
    """The weights of ``path`` loaded as ``model_args`` (a TRL ``ModelConfig``) says: its dtype
    (:func:`torch_dtype`), attention kernel, revision and 4-/8-bit quantization.

    ``task`` "causal-lm" gives a causal LM (refusing encoders and seq2seq models), "reward" a
    sequence classifier with one label (a reward model's scalar head). A quantized model loads
    straight onto ``device`` (bitsandbytes places it as it quantizes); an unquantized one stays on
    the CPU for the caller, or a Trainer, to place."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if task not in TASKS:
        raise ModelLoadError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    config = _config(path, trust_remote_code, model_args.model_revision)
    if task == "causal-lm":
        _check_causal_lm(path, config)
    kwargs = {
        "dtype": torch_dtype(model_args.dtype, device),
        "trust_remote_code": trust_remote_code,
        "revision": model_args.model_revision,
    }
    if model_args.attn_implementation:
        kwargs["attn_implementation"] = model_args.attn_implementation
    bnb = quantization_config(model_args, device)
    if bnb is not None:
        place = torch.device(device)
        if place.type == "cuda" and place.index is None:  # "cuda": the current GPU, by index
            place = torch.device("cuda", torch.cuda.current_device())
        kwargs.update(quantization_config=bnb, device_map={"": place})
    if task == "reward":
        cls, kwargs["num_labels"] = AutoModelForSequenceClassification, 1
    else:
        cls = AutoModelForCausalLM
    try:
        return cls.from_pretrained(path, **kwargs)
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelLoadError(f"Could not load the weights of {path!r}: {err}") from err


def load_tokenizer(
    path: str, chat_template: str = "auto", trust_remote_code: bool = False, name: str | None = None
):
    """The tokenizer of ``path`` with the chat template model/chat.py picks for ``chat_template``
    (guessing from ``name``, default ``path``), and a pad token (EOS when it has none). Saved with
    every checkpoint, the template travels from training into serving."""
    tokenizer = _tokenizer(path, trust_remote_code)
    apply_template(tokenizer, pick_template(name or path, tokenizer, chat_template))
    return tokenizer


def _tokenizer(path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


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
        name: Hugging Face id or local folder (a full model, or a LoRA adapter folder), or a
            ``.gguf`` file (model/gguf.py converts it once into a cached folder).
        quant: "none" (bf16 on GPU, fp32 on CPU), "4bit" (NF4, double quantization) or "8bit".
        adapter: optional LoRA adapter folder applied on top of the base model.
        device: "auto" (CUDA when present), "cpu" or "cuda".
        chat_template: "auto", "model" or a fallback name from model/chat.py TEMPLATES.
        trust_remote_code: allow model code from the hub (Baichuan needs it).
    """
    # a .gguf file (or a folder holding one) becomes its cached Hugging Face folder before anything else
    base, adapter_from_name = resolve_source(to_hf_folder(name))
    adapter = adapter or adapter_from_name
    if adapter and not (Path(adapter) / "adapter_config.json").exists():
        raise ModelLoadError(f"Adapter folder {adapter} has no adapter_config.json (is it a LoRA adapter?)")
    device = _resolve_device(device)
    model_args = model_args_for(quant)
    if device == "cpu":
        log.warning("No GPU in use: %s runs on the CPU, slowly.", name)
    model = load_pretrained(base, model_args, device, trust_remote_code=trust_remote_code)
    if quant == "none":
        model.to(device)
    # A trained adapter folder carries the tokenizer (and chat template) it was trained with.
    tok_source = adapter if adapter and (Path(adapter) / "tokenizer_config.json").exists() else base
    tokenizer = _tokenizer(tok_source, trust_remote_code)
    template = pick_template(name, tokenizer, chat_template)  # None: the model's own
    apply_template(tokenizer, template)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    loaded = LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=name,
        quant=quant,
        device=device,
        dtype=str(torch_dtype(model_args.dtype, device)).removeprefix("torch."),
        adapter=adapter if adapter != adapter_from_name else None,
        template=template or "model",
    )
    log.info("Loaded %s", loaded.describe())
    return loaded


def add_model_args(parser: argparse.ArgumentParser, default_model: str | None = None) -> None:
    """The local-model flags every command that loads a model here shares (app.py, model.server,
    evaluation, datagen; model/engines.py adds the endpoint flags beside them). Stable interface:
    ``--model`` (dest ``model``, default ``default_model``), ``--adapter``, ``--quant``
    (none|4bit|8bit), ``--device`` (auto|cpu|cuda), ``--chat-template`` (dest ``chat_template``)
    and ``--trust-remote-code``; :func:`load_from_args` reads exactly these. Training takes the
    same model as ``--model`` / ``--model_name_or_path`` through TRL's ModelConfig instead."""
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
    """:func:`load_model` from the flags :func:`add_model_args` defined."""
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
