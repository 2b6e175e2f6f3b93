"""Resume after a real kill: a `python -m training pt` process is SIGKILLed once its first checkpoint is on
disk, `--resume` continues it, and the per-step loss curve matches an uninterrupted run within 1e-3
(absolute, in nats; CPU runs here agree far closer than that)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO

from training import pt
from training.common import StageError, parse_config

# small steps (2 blocks of 64 tokens) so the whole test is cheap; enough of them that the killed run is
# still going when its first checkpoint appears
STEPS, SAVE_EVERY, TOLERANCE = 80, 10, 1e-3


def flags(model_dir, out):
    return [
        "--config", str(REPO / "recipes/pt/tiny.yaml"), "--model_name_or_path", str(model_dir),
        "--train_files", str(REPO / "data/samples/corpus"), "--output_dir", str(out), "--eval_fraction", "0",
        "--max_steps", str(STEPS), "--save_strategy", "steps", "--save_steps", str(SAVE_EVERY),
        "--logging_steps", "1", "--disable_tqdm", "true", "--per_device_train_batch_size", "2", "--max_length", "64",
    ]  # fmt: skip


def curve(out) -> dict[int, float]:
    """step -> training loss from the metrics log (a resumed step's later entry wins)."""
    losses = {}
    for line in (out / "metrics.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if "loss" in entry:
            losses[entry["step"]] = entry["loss"]
    return losses


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is faster than two, and far faster when other processes share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def start(args, log):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "training", "pt", *args], cwd=REPO, env=env, stdout=log, stderr=log
    )


def test_killed_run_resumes_and_matches_the_uninterrupted_loss_curve(tmp_path, tiny_model_dir):
    reference = tmp_path / "reference"
    pt.train(parse_config(pt.PTConfig, flags(tiny_model_dir, reference)))
    expected = curve(reference)
    assert sorted(expected) == list(range(1, STEPS + 1))

    out = tmp_path / "killed"
    with (tmp_path / "first.log").open("w") as log:
        proc = start(flags(tiny_model_dir, out), log)
        first = out / f"checkpoint-{SAVE_EVERY}" / "trainer_state.json"
        deadline = time.monotonic() + 300
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "model.safetensors").exists()  # killed before the end: no final model
    checkpoints = sorted(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    assert checkpoints and checkpoints[-1] < STEPS

    with (tmp_path / "resumed.log").open("w") as log:
        assert start([*flags(tiny_model_dir, out), "--resume", "true"], log).wait() == 0, (
            tmp_path / "resumed.log"
        ).read_text()[-3000:]
    resumed_log = (tmp_path / "resumed.log").read_text()
    assert f"resuming from {out}/checkpoint-" in resumed_log
    got = curve(out)
    assert sorted(got) == list(range(1, STEPS + 1))
    for step in range(1, STEPS + 1):
        assert got[step] == pytest.approx(expected[step], abs=TOLERANCE), step
    assert (out / "model.safetensors").exists() and (out / "medchat_stage.json").exists()


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, tiny_model_dir):
    cfg = parse_config(pt.PTConfig, [*flags(tiny_model_dir, tmp_path / "empty"), "--resume", "true"])
    with pytest.raises(StageError, match="no checkpoint-\\* folder"):
        pt.train(cfg)
