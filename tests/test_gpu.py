"""GPU tests (marked ``gpu``, skipped without CUDA): 4-bit NF4 load and generate on the GPU, one QLoRA
SFT step on the GPU, and the app's engine (model.generate.LocalEngine over model/load.py, no Gradio)
streaming on CUDA. benchmarks/gpu_check.sh runs them on a lent GPU machine.

    python -m pytest tests/test_gpu.py -m gpu -q -p no:cacheprovider
"""

import json
import math

import pytest
import torch
from conftest import REPO

from model.generate import GenerationSettings, LocalEngine
from model.load import load_model

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

QUESTION = [{"role": "user", "content": "高血压患者饮食上要注意什么？"}]
GREEDY = GenerationSettings(max_new_tokens=8, temperature=0, repetition_penalty=1.0)


def stream_and_compare(loaded) -> None:
    """Stream a greedy reply through the engine and check it against plain ``generate`` on the GPU."""
    prompt, stream = LocalEngine(loaded).stream_chat(QUESTION, GREEDY)
    text = stream.text()
    assert stream.completion_tokens == 8 and stream.finish_reason == "length"
    ids = loaded.tokenizer(prompt.text, return_tensors="pt", add_special_tokens=False)["input_ids"].cuda()
    with torch.inference_mode():
        raw = loaded.model.generate(
            ids, max_new_tokens=8, do_sample=False, pad_token_id=loaded.tokenizer.pad_token_id
        )
    assert raw.device.type == "cuda"
    assert text == loaded.tokenizer.decode(raw[0, ids.shape[1] :], skip_special_tokens=True)


def test_4bit_nf4_load_and_generate_on_cuda(tiny_model_dir):
    import bitsandbytes as bnb

    full = load_model(str(tiny_model_dir), quant="none", device="cuda")
    loaded = load_model(str(tiny_model_dir), quant="4bit", device="cuda")
    layer = loaded.model.model.layers[0].self_attn.q_proj
    assert isinstance(layer, bnb.nn.Linear4bit)
    assert layer.weight.device.type == "cuda"
    assert layer.weight.quant_state.quant_type == "nf4"
    assert layer.compute_dtype == torch.bfloat16  # an H100/H200 computes in bf16
    assert "4-bit NF4 · cuda" in loaded.describe()
    assert loaded.model.get_memory_footprint() < full.model.get_memory_footprint()
    stream_and_compare(loaded)


def test_qlora_sft_steps_on_cuda(tmp_path, tiny_model_dir):
    import bitsandbytes as bnb

    from training import sft
    from training.common import STAGE_FILE, parse_config

    cfg = parse_config(
        sft.SFTStageConfig,
        [
            "--config", str(REPO / "recipes" / "sft" / "tiny.yaml"),
            "--model_name_or_path", str(tiny_model_dir), "--load_in_4bit", "true", "--use_peft", "true",
            "--lora_r", "64", "--lora_alpha", "128",
            "--train_files", str(REPO / "data" / "samples" / "dialogues.jsonl"), "--max_samples", "16",
            "--eval_fraction", "0", "--output_dir", str(tmp_path / "qlora"), "--max_steps", "2",
            "--learning_rate", "1e-3", "--warmup_steps", "0", "--disable_tqdm", "true",
        ],
    )  # fmt: skip
    assert cfg.bf16  # bf16 mixed precision on a GPU that has it
    trainer, metrics = sft.train(cfg)
    assert math.isfinite(metrics["train_loss"])
    # every LoRA tensor moved: B in the first step (it starts at zero, so A's gradient is zero), A in the second
    assert metrics["trainable_changed_fraction"] == 1.0
    quantized = [m for m in trainer.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert quantized and all(m.weight.device.type == "cuda" for m in quantized)
    assert json.loads((tmp_path / "qlora" / STAGE_FILE).read_text())["adapter"] is True


def test_app_engine_streams_on_cuda(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir), device="auto")  # what the app does on a GPU machine
    assert loaded.device == "cuda" and loaded.dtype == "bfloat16"
    assert next(loaded.model.parameters()).device.type == "cuda"
    stream_and_compare(loaded)
