"""training/feedback.py: the SQLite (WAL) feedback store, crash safety, and the preference-pair export."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO

from training.data import read_preferences
from training.feedback import FeedbackError, FeedbackStore, export_preferences

SYSTEM = {"role": "system", "content": "你是医疗助手"}
Q1 = [SYSTEM, {"role": "user", "content": "高血压饮食要注意什么？"}]
Q2 = [SYSTEM, {"role": "user", "content": "头痛"}, {"role": "assistant", "content": "多久了？"},
      {"role": "user", "content": "三天了"}]  # fmt: skip
SETTINGS = {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 64}


def _store(tmp_path):
    return FeedbackStore(tmp_path / "feedback.sqlite")


def test_store_keeps_conversation_model_settings_and_time_in_wal_mode(tmp_path):
    store = _store(tmp_path)
    shown = [{"role": "user", "content": "高血压饮食要注意什么？"}]
    store.add_rating(Q1, "少盐。", 1, "tiny", SETTINGS, conversation=shown, session="s1")
    store.add_comparison(Q2, "请及时就医。", "不用管。", "tiny", {"a": SETTINGS, "b": SETTINGS}, session="s1")
    (rating,) = store.rows("ratings")
    assert rating["prompt"] == Q1 and rating["conversation"] == shown and rating["settings"] == SETTINGS
    assert rating["answer"] == "少盐。" and rating["rating"] == 1 and rating["model"] == "tiny"
    assert rating["created_at"].endswith("+00:00") and rating["session"] == "s1"
    (comparison,) = store.rows("comparisons")
    assert comparison["conversation"] == Q2  # defaults to the prompt
    assert store.counts() == {"ratings": 1, "comparisons": 1}
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    conn.close()


def test_bad_feedback_is_refused(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(ValueError, match="rating must be 1"):
        store.add_rating(Q1, "a", 0, "tiny", {})
    with pytest.raises(ValueError, match="must end with the user's message"):
        store.add_rating([*Q1, {"role": "assistant", "content": "x"}], "a", 1, "tiny", {})
    with pytest.raises(ValueError, match="role of system, user or assistant"):
        store.add_comparison([{"role": "bot", "content": "x"}], "a", "b", "tiny", {})
    assert store.counts() == {"ratings": 0, "comparisons": 0}


def test_a_file_that_is_not_a_feedback_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(FeedbackError, match="notes.sqlite is not a usable feedback database"):
        FeedbackStore(bad)


def test_export_pairs_comparisons_and_opposite_ratings(tmp_path):
    store = _store(tmp_path)
    store.add_comparison(Q2, "请及时就医。", "不用管。", "tiny", {})
    store.add_comparison(Q2, "请及时就医。", "不用管。", "tiny", {})  # the same choice twice: one pair
    store.add_comparison(Q2, "一样", "一样", "tiny", {})  # no preference in it
    store.add_rating(Q1, "少盐，多吃蔬菜。", 1, "tiny", SETTINGS)
    store.add_rating(Q1, "多吃咸菜。", -1, "tiny", SETTINGS)
    store.add_rating(Q1, "随便吃。", 1, "tiny", SETTINGS)
    store.add_rating(Q1, "随便吃。", -1, "tiny", SETTINGS)  # changed their mind: the latest rating wins
    store.add_rating(Q2, "只有点赞，没有对比", 1, "tiny", SETTINGS)  # nothing to pair with
    out = tmp_path / "out" / "prefs.jsonl"
    report = export_preferences(store.path, out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (report.pairs, report.from_comparisons, report.from_ratings) == (3, 1, 2)
    assert report.unpaired_ratings == 1 and report.duplicates_skipped == 2
    assert records[0] == {
        "prompt": Q2,
        "chosen": [{"role": "assistant", "content": "请及时就医。"}],
        "rejected": [{"role": "assistant", "content": "不用管。"}],
    }
    rated = {(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in records[1:]}
    assert rated == {("少盐，多吃蔬菜。", "多吃咸菜。"), ("少盐，多吃蔬菜。", "随便吃。")}
    assert all(r["prompt"] == Q1 for r in records[1:])
    # The training stages' reader takes the file as is.
    pairs = read_preferences([out])
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs][0] == (Q2, "请及时就医。", "不用管。")
    assert len(pairs) == 3
    assert not list(out.parent.glob("*.tmp"))


def test_export_cli(tmp_path):
    store = _store(tmp_path)
    store.add_comparison(Q1, "少盐。", "多盐。", "tiny", {})
    out = tmp_path / "prefs.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "training", "export-feedback", "--db", str(store.path), "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 preference pairs (1 from comparisons" in done.stdout
    assert len(out.read_text().splitlines()) == 1
    missing = subprocess.run(
        [*cmd[:5], str(tmp_path / "none.sqlite"), "--out", str(out)], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode != 0 and "no feedback database at" in missing.stderr


def test_concurrent_writers_lose_nothing(tmp_path):
    store = _store(tmp_path)

    def write(worker):
        for i in range(25):
            store.add_rating(Q1, f"answer {worker}-{i}", 1, "tiny", {})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = {r["answer"] for r in store.rows("ratings")}
    assert len(answers) == 200


WRITER = """
import sys
from training.feedback import FeedbackStore
store = FeedbackStore(sys.argv[1])
prompt = [{"role": "user", "content": "问题 " + "很长的上下文" * 200}]
i = 0
while True:
    store.add_comparison(prompt, f"chosen {i} " + "好" * 2000, f"rejected {i}", "tiny", {"i": i})
    print(i, flush=True)  # printed only after the commit returned
    i += 1
"""


def test_sqlite_survives_the_writer_being_killed_mid_write(tmp_path):
    db = tmp_path / "feedback.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    acknowledged = -1
    deadline = time.time() + 60
    while acknowledged < 60 and time.time() < deadline:
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of its next write
    proc.wait(timeout=10)
    proc.stdout.close()
    assert acknowledged >= 60
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    rows = FeedbackStore(db).rows("comparisons")  # opens (and recovers the WAL) without error
    ids = [row["settings"]["i"] for row in rows]
    assert ids[: acknowledged + 1] == list(range(acknowledged + 1))  # every acknowledged row, intact
    assert all(row["chosen"] == f"chosen {row['settings']['i']} " + "好" * 2000 for row in rows)
