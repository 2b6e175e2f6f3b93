"""Shared fixtures: offline mode, an isolated artifacts dir, and tiny local models built from real text.

No test downloads anything: the tokenizer is trained on the shared Chinese medical dialogues and
the model is a randomly initialised Llama (model/tiny.py)."""

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
# The workplace's real public data sits beside the checkout (../shared/data); MEDCHAT_SHARED_DATA moves it.
SHARED_DATA = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
if not (SHARED_DATA / "medicalgpt").is_dir():
    raise pytest.UsageError(
        f"the shared test data is missing: {SHARED_DATA} (expected ../shared/data beside the checkout, "
        "or set MEDCHAT_SHARED_DATA to its folder)"
    )
SFT_1K = SHARED_DATA / "medicalgpt" / "medical_sft_1K_format.jsonl"


@pytest.fixture(scope="session", autouse=True)
def _isolated_artifacts(tmp_path_factory):
    """Point MEDCHAT_HOME at a temporary folder so tests never touch the user's artifacts."""
    if "MEDCHAT_TEST_KEEP_HOME" not in os.environ:
        os.environ["MEDCHAT_HOME"] = str(tmp_path_factory.mktemp("medchat_home"))
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def shared_dialogue_texts(limit: int | None = None) -> list[str]:
    """Turn texts of the shared real Chinese medical dialogues (ShareGPT format)."""
    texts = []
    with SFT_1K.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                break
            texts += [turn["value"] for turn in json.loads(line)["conversations"]]
    return texts


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from model.tiny import train_tokenizer

    return train_tokenizer(shared_dialogue_texts(), vocab_size=2000)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A saved tiny random Llama (about 0.26M parameters) with a ChatML tokenizer: a real local model."""
    from model.tiny import save, tiny_llama

    return save(tiny_llama(tiny_tokenizer), tiny_tokenizer, tmp_path_factory.mktemp("tiny_model"))
