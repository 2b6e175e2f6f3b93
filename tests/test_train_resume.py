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
from training.runs import RUN_FILE, STAGE_FILE

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
    # the killed run marked its folder as ours when training began: starting over there needs no flag
    assert (out / RUN_FILE).exists() and not (out / STAGE_FILE).exists()
    assert parse_config(pt.PTConfig, flags(tiny_model_dir, out)).output_dir == str(out)

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


# ---------------------------------------------------------------------------- rejection sampling


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory, tiny_model_dir):
    """A briefly trained reward model on the sample preference pairs (what rejection sampling scores with)."""
    from training import rm

    out = tmp_path_factory.mktemp("rs_rm")
    rm.train(
        parse_config(
            rm.RMConfig,
            [
                "--config",
                str(REPO / "recipes/rm/tiny.yaml"),
                "--model_name_or_path",
                str(tiny_model_dir),
                "--train_files",
                str(REPO / "data/samples/preferences.jsonl"),
                "--eval_fraction",
                "0",
                "--output_dir",
                str(out),
                "--max_steps",
                "3",
                "--disable_tqdm",
                "true",
            ],
        )  # fmt: skip
    )
    return out


def rs_flags(model_dir, rm_dir, out):
    """Three rounds of best-of-4 on 18 prompts, one prompt per sampling batch (18 batches: the kill
    below lands well inside round 1), LoRA (the adapter is what a finished round saves and a resumed
    run loads)."""
    return [
        "--config", str(REPO / "recipes/rl/tiny.yaml"), "--model_name_or_path", str(model_dir),
        "--reward_model", str(rm_dir), "--train_files", str(REPO / "data/samples/rl_prompts.jsonl"),
        "--max_samples", "24", "--eval_fraction", "0.25", "--num_generations", "4",
        "--max_completion_length", "16", "--max_steps", "4", "--reward_eval_samples", "2",
        "--rs_iterations", "3", "--sampling_batch_size", "1", "--use_peft", "true", "--rs_threshold", "-1000",
        "--disable_tqdm", "true", "--output_dir", str(out),
    ]  # fmt: skip


def start_rl(args, log):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "training", "rl", *args], cwd=REPO, env=env, stdout=log, stderr=log
    )


def kill_when(proc, ready, what: str) -> None:
    deadline = time.monotonic() + 300
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, f"the run ended before it could be killed {what}"


def rounds(out) -> list[list[dict]]:
    return [
        [
            json.loads(line)
            for line in (out / f"rejection_sampling/iteration-{k}.jsonl").read_text().splitlines()
        ]
        for k in (1, 2, 3)
    ]


def test_killed_rejection_sampling_resumes_and_matches_the_uninterrupted_run(
    tmp_path, tiny_model_dir, reward_model_dir
):
    reference = tmp_path / "reference"
    with (tmp_path / "reference.log").open("w") as log:
        assert start_rl(rs_flags(tiny_model_dir, reward_model_dir, reference), log).wait() == 0, (
            tmp_path / "reference.log"
        ).read_text()[-3000:]

    out = tmp_path / "killed"
    rs = out / "rejection_sampling"
    args = rs_flags(tiny_model_dir, reward_model_dir, out)
    # 1. killed in round 1 after some sampling batches are on disk; then a torn write is added, as a
    #    kill in the middle of appending a batch leaves one
    with (tmp_path / "kill1.log").open("w") as log:
        partial = rs / "iteration-1.partial.jsonl"
        kill_when(start_rl(args, log), lambda: partial.exists() and partial.read_text().count("\n") >= 2,
                  "in round 1")  # fmt: skip
    assert not (rs / "iteration-1.jsonl").exists()
    with partial.open("a") as f:
        f.write('{"batch": 99, "groups": [["cut off')
    # 2. resumed, then killed again once round 1 is finished
    state = rs / "state.json"
    with (tmp_path / "kill2.log").open("w") as log:
        kill_when(
            start_rl([*args, "--resume", "true"], log),
            lambda: state.exists() and len(json.loads(state.read_text())["done"]) >= 1,
            "after round 1",
        )
    second = (tmp_path / "kill2.log").read_text()
    assert "removing an incomplete last line" in second and "sampling batches already on disk" in second
    assert not json.loads(state.read_text()).get("complete")
    assert (rs / "iteration-1" / "policy" / "adapter_config.json").exists() or (
        rs / "iteration-2" / "policy" / "adapter_config.json"
    ).exists()
    # 3. resumed to the end
    with (tmp_path / "resumed.log").open("w") as log:
        assert start_rl([*args, "--resume", "true"], log).wait() == 0, (tmp_path / "resumed.log").read_text()[
            -3000:
        ]
    assert "resuming rejection sampling" in (tmp_path / "resumed.log").read_text()

    # every round sampled, scored and kept exactly what the uninterrupted run did
    for got, expected in zip(rounds(out), rounds(reference), strict=True):
        assert [r["prompt"] for r in got] == [r["prompt"] for r in expected]
        assert [[c["text"] for c in r["candidates"]] for r in got] == [
            [c["text"] for c in r["candidates"]] for r in expected
        ]
        assert [r["kept"]["index"] for r in got] == [r["kept"]["index"] for r in expected]
        for g, e in zip(got, expected, strict=True):
            assert [c["score"] for c in g["candidates"]] == pytest.approx(
                [c["score"] for c in e["candidates"]], abs=1e-4
            )
    got_metrics = json.loads((out / "metrics.json").read_text())
    ref_metrics = json.loads((reference / "metrics.json").read_text())
    assert got_metrics["reward_before"] == pytest.approx(ref_metrics["reward_before"], abs=1e-6)
    assert got_metrics["reward_after"] == pytest.approx(ref_metrics["reward_after"], abs=1e-3)
    assert [r["kept"] for r in got_metrics["rejection_sampling"]["iterations"]] == [18, 18, 18]
    final = json.loads(state.read_text())
    assert final["complete"] and not list(rs.glob("iteration-*/policy"))  # the resume copies are gone
    assert not list(rs.glob("*.partial.jsonl"))


def test_resume_of_a_finished_or_different_rejection_sampling_run_is_refused(
    tmp_path, tiny_model_dir, reward_model_dir
):
    from training import rl

    out = tmp_path / "rs"
    args = rs_flags(tiny_model_dir, reward_model_dir, out)
    with pytest.raises(StageError, match="no rejection sampling progress"):
        rl.train(parse_config(rl.RLConfig, [*args, "--resume", "true"]))
    small = [
        *args[: args.index("--rs_iterations")],
        "--rs_iterations",
        "1",
        *args[args.index("--rs_iterations") + 2 :],
    ]
    rl.train(parse_config(rl.RLConfig, small))
    with pytest.raises(StageError, match="already finished"):
        rl.train(parse_config(rl.RLConfig, [*small, "--resume", "true"]))
    state = out / "rejection_sampling" / "state.json"
    data = json.loads(state.read_text())
    state.write_text(json.dumps({**data, "complete": False, "data_sha256": "0" * 64}))
    with pytest.raises(StageError, match="prompt files differ"):
        rl.train(parse_config(rl.RLConfig, [*small, "--resume", "true"]))
