"""GGUF model files as ``--model``: converted once into a cached Hugging Face folder.

    python -m model.gguf FILE.gguf        # converts (or finds the cached copy) and prints its folder

``--model FILE.gguf``, or a folder holding exactly one ``.gguf`` and no config.json, is accepted
wherever a model is taken (app, API server, training stages, evaluation, datagen): ``model.load``
calls ``to_hf_folder`` first. transformers dequantizes the file (``gguf_file=``) into a regular
fp32 model with the file's own tokenizer and chat template. That model cannot be saved directly
(it stays marked as GGUF-quantized), so its weights are copied into a model built from the same
config and saved. The folder is ``<artifacts>/gguf/sha256-<first 16 hex digits>`` (``MEDCHAT_HOME`` moves
it), keyed by the file's content, and is written to a temporary folder renamed into place: an
interrupted conversion leaves nothing half-made and a second launch reuses the folder.

Checked before converting, each with a clear error: a file too short for its own tensor table
(truncated download), an architecture transformers cannot map, a quantization type gguf-py
cannot dequantize.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path

from model import artifacts_dir
from model.assets import build_once
from model.errors import ModelLoadError

log = logging.getLogger(__name__)

MARKER = "medchat_gguf.json"


class GGUFError(ModelLoadError):
    """A GGUF file that cannot be converted, and why."""


def find_gguf(name: str) -> Path | None:
    """The GGUF file ``name`` means (a ``.gguf`` file, or a folder with exactly one and no
    config.json), else None: hub ids and Hugging Face folders are not GGUF input."""
    path = Path(name).expanduser()
    if path.is_file():
        return path if path.suffix.lower() == ".gguf" else None
    if not path.is_dir() or (path / "config.json").exists():
        return None
    files = sorted(path.glob("*.gguf"))
    if len(files) > 1:
        raise GGUFError(
            f"{name} holds {len(files)} .gguf files ({', '.join(f.name for f in files)}): "
            "pass --model FOLDER/FILE.gguf to choose one"
        )
    return files[0] if files else None


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def inspect(path: Path) -> dict:
    """Read the header and tensor table; raise GGUFError for what transformers could not convert."""
    import gguf
    from gguf.quants import _type_traits
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)")
    size = path.stat().st_size
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, IndexError, OSError) as err:
        raise GGUFError(
            f"{path} is truncated or corrupt ({size:,} bytes): could not read it ({err})"
        ) from err
    needed = max((t.data_offset + t.n_bytes for t in reader.tensors), default=0)
    if needed > size:
        raise GGUFError(f"{path} is truncated: its tensors need {needed:,} bytes, the file has {size:,}")

    def field(key: str) -> str | None:
        f = reader.fields.get(key)
        return bytes(f.parts[f.data[0]]).decode() if f is not None else None

    arch = field("general.architecture")
    if arch not in GGUF_SUPPORTED_ARCHITECTURES:
        raise GGUFError(
            f"{path}: architecture {arch!r} cannot be read by this transformers version "
            f"(it converts GGUF files of: {', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))})"
        )
    readable = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, *_type_traits}
    types = sorted({t.tensor_type.name for t in reader.tensors})
    unreadable = sorted({t.tensor_type.name for t in reader.tensors if t.tensor_type not in readable})
    if unreadable:
        raise GGUFError(
            f"{path}: quantization type {', '.join(unreadable)} cannot be dequantized by the installed gguf "
            f"package (tensor types in the file: {', '.join(types)}); use a file in another quantization"
        )
    return {
        "architecture": arch,
        "name": field("general.name"),
        "tensor_types": types,
        "tensors": len(reader.tensors),
    }


def convert(path: Path, out: Path) -> None:
    """Dequantize ``path`` with transformers and save model, tokenizer and generation config in ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": path.name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, **kwargs)
        loaded = AutoModelForCausalLM.from_pretrained(path.parent, dtype=torch.float32, **kwargs)
    except (ValueError, NotImplementedError, RuntimeError, KeyError) as err:
        raise GGUFError(f"transformers could not convert {path}: {err}") from err
    config = loaded.config
    del config.quantization_config  # what keeps the GGUF-loaded model from being saved
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def to_hf_folder(name: str) -> str:
    """``name`` unchanged unless it is GGUF input; then the cached Hugging Face folder converted from it."""
    path = find_gguf(name)
    if path is None:
        return name
    digest = file_hash(path)
    target = artifacts_dir() / "gguf" / f"sha256-{digest[:16]}"  # by content: any name or copy
    if (target / MARKER).exists():
        return str(target)
    info = inspect(path)
    log.info(
        "converting %s (%s, %s) to %s, once",
        path,
        info["architecture"],
        "/".join(info["tensor_types"]),
        target,
    )

    def build(tmp: Path) -> None:
        convert(path, tmp)
        tmp.chmod(0o755)  # mkdtemp made it private; the cache is an ordinary model folder
        (tmp / MARKER).write_text(
            json.dumps({"source": str(path.resolve()), "sha256": digest, **info}, indent=2)
        )

    return str(build_once(target, build))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help="a .gguf file, or a folder holding one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        print(to_hf_folder(args.model))
    except ModelLoadError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
