"""model/load.py: loading a local model (full precision, 4-bit NF4, 8-bit, LoRA adapter) and its clear errors."""

import argparse

import pytest
import torch

from model.generate import GenerationSettings, LocalEngine
from model.load import ModelLoadError, add_model_args, load_from_args, load_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(str(tiny_model_dir))


def test_load_local_model_on_cpu(loaded, tiny_model_dir):
    assert loaded.device == "cpu" and loaded.quant == "none" and loaded.dtype == "float32"
    assert loaded.max_context == 4096
    assert loaded.template == "model"  # the tiny tokenizer carries its own (ChatML) template
    assert loaded.describe() == f"{tiny_model_dir} · float32 · CPU (no GPU: slow)"
    assert not loaded.model.training


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="Model path not found: /no/such/model"):
        load_model("/no/such/model")
    with pytest.raises(ModelLoadError, match="not a model folder: it has no config.json"):
        load_model(str(tmp_path))
    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(ModelLoadError, match="is a file"):
        load_model(str(tmp_path / "weights.bin"))


def test_unknown_hub_id_offline_is_a_clear_error():
    with pytest.raises(ModelLoadError, match="the Hugging Face Hub could not provide it"):
        load_model("medchat-tests/no-such-model")


@pytest.mark.parametrize("kind", ["bert", "t5"])
def test_a_model_that_is_not_a_causal_lm_is_refused(tmp_path, kind):
    from transformers import BertConfig, T5Config

    if kind == "bert":
        config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=32)  # fmt: skip
    else:
        config = T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    config.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match=f"is a '{kind}' model .* not a causal language model"):
        load_model(str(tmp_path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_model_dir):
    with pytest.raises(ModelLoadError, match="no CUDA GPU; use --device cpu"):
        load_model(str(tiny_model_dir), device="cuda")


def test_unknown_quantization_is_refused(tiny_model_dir):
    with pytest.raises(ModelLoadError, match="unknown quantization '3bit'"):
        load_model(str(tiny_model_dir), quant="3bit")


@pytest.mark.parametrize("quant", ["4bit", "8bit"])
def test_quantized_load_and_generate_on_cpu(tiny_model_dir, quant):
    import bitsandbytes as bnb

    loaded = load_model(str(tiny_model_dir), quant=quant)
    layer = loaded.model.model.layers[0].self_attn.q_proj
    assert isinstance(layer, bnb.nn.Linear4bit if quant == "4bit" else bnb.nn.Linear8bitLt)
    if quant == "4bit":
        assert layer.weight.quant_state.quant_type == "nf4"
        assert "4-bit NF4" in loaded.describe()
    engine = LocalEngine(loaded)
    prompt, stream = engine.stream_chat(
        [{"role": "user", "content": "高血压患者饮食上要注意什么？"}],
        GenerationSettings(max_new_tokens=6, temperature=0, repetition_penalty=1.0),
    )
    text = stream.text()
    assert stream.completion_tokens == 6 and stream.finish_reason == "length"
    assert stream.prompt_tokens == prompt.n_tokens
    # Same greedy tokens as the model decoding directly: the quantized model really generated them.
    ids = loaded.tokenizer(prompt.text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    raw = loaded.model.generate(
        ids, max_new_tokens=6, do_sample=False, pad_token_id=loaded.tokenizer.pad_token_id
    )
    assert text == loaded.tokenizer.decode(raw[0, ids.shape[1] :], skip_special_tokens=True)


def _save_lora(base_dir, out_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_dir)
    # init_lora_weights=False: random B matrices, so the adapter visibly changes the outputs.
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(out_dir)
    return out_dir


def test_lora_adapter_on_top_and_adapter_folder_as_model(tiny_model_dir, tmp_path, loaded):
    from peft import PeftModel

    adapter = _save_lora(tiny_model_dir, tmp_path / "adapter")
    with_adapter = load_model(str(tiny_model_dir), adapter=str(adapter))
    assert isinstance(with_adapter.model, PeftModel)
    assert with_adapter.adapter == str(adapter) and "+ adapter" in with_adapter.describe()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert not torch.allclose(with_adapter.model(ids).logits, loaded.model(ids).logits)
    # A folder holding only the adapter is accepted as --model: its config names the base.
    by_folder = load_model(str(adapter))
    assert isinstance(by_folder.model, PeftModel)
    with torch.no_grad():
        assert torch.allclose(by_folder.model(ids).logits, with_adapter.model(ids).logits)
    with pytest.raises(ModelLoadError, match="has no adapter_config.json"):
        load_model(str(tiny_model_dir), adapter=str(tmp_path))


def test_model_flags_are_shared_by_every_cli(tiny_model_dir):
    parser = argparse.ArgumentParser()
    add_model_args(parser)
    args = parser.parse_args(["--model", str(tiny_model_dir), "--chat-template", "chimed", "--device", "cpu"])
    loaded = load_from_args(args)
    assert loaded.template == "chimed" and loaded.tokenizer.chat_template.startswith("{{- bos_token")
    with pytest.raises(SystemExit):
        parser.parse_args(["--quant", "2bit"])


def test_reward_model_loads_through_the_same_loader_quantized_like_the_policy(tiny_model_dir):
    """training's reward model: model/load.py's load_pretrained with task "reward" (a one-label
    sequence classifier), 4-bit NF4 from the same ModelConfig fields a QLoRA policy uses."""
    import bitsandbytes as bnb

    from model.load import load_pretrained, model_args_for, quantization_config

    args = model_args_for("4bit")
    bnb_config = quantization_config(args, "cpu")  # TRL's get_quantization_config, dtype resolved
    assert bnb_config.bnb_4bit_quant_type == "nf4" and bnb_config.bnb_4bit_use_double_quant
    assert bnb_config.bnb_4bit_compute_dtype == torch.float32  # "auto" on the CPU
    rm = load_pretrained(str(tiny_model_dir), args, "cpu", task="reward")
    assert type(rm).__name__ == "LlamaForSequenceClassification" and rm.config.num_labels == 1
    layer = rm.model.layers[0].self_attn.q_proj
    assert isinstance(layer, bnb.nn.Linear4bit) and layer.weight.quant_state.quant_type == "nf4"
    rm.config.pad_token_id = 0
    with torch.no_grad():
        scores = rm(input_ids=torch.tensor([[5, 6, 7], [8, 9, 10]])).logits
    assert scores.shape == (2, 1) and torch.isfinite(scores).all() and scores[0] != scores[1]


def test_dtype_auto_is_the_devices_best_and_bad_names_are_refused():
    from model.load import torch_dtype

    assert torch_dtype("auto", "cpu") == torch.float32  # bf16 on a CPU is slow and lossy
    assert torch_dtype(None, "cpu") == torch.float32 and torch_dtype("bfloat16", "cpu") == torch.bfloat16
    with pytest.raises(ModelLoadError, match="unknown dtype 'fp8'"):
        torch_dtype("fp8", "cpu")
