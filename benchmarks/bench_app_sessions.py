"""The chat app's memory for N browser sessions that upload a document and then close: process RSS
of a launched app (over the sample knowledge base) while N gradio_client sessions each upload a
text file of real medical answers (benchmarks/bench_sessions.py's), then after every session's tab
closes (its heartbeat connection dropped, which fires Gradio's unload and frees the session's
index in retrieval/sessions.py), and after a second round. The engine is a fixed reply: only the
upload path is measured. The app, its clients and this script share one process.

    python benchmarks/bench_app_sessions.py                    # 4 sessions x 300 KB, 2 rounds
    python benchmarks/bench_app_sessions.py --sessions 8 --upload-kb 500 --rounds 4
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import httpx  # noqa: E402
from bench_sessions import rss_mb, trim, upload_file  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402

import app as medchat_app  # noqa: E402
from model.chat import FittedPrompt  # noqa: E402


class FixedEngine:
    """A reply of one word: the benchmark measures uploads, not generation."""

    name = "fixed"

    def describe(self) -> str:
        return "fixed reply"

    def stream_chat(self, messages, settings, cancel=None):
        return FittedPrompt("", list(messages), 0, 0), _Stream()


class _Stream:
    finish_reason, prompt_tokens, completion_tokens = "stop", 0, 1

    def cancel(self) -> None:
        pass

    def __iter__(self):
        yield "ok"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _close_tab(url: str, client: Client) -> None:
    with httpx.stream("GET", f"{url}gradio_api/heartbeat/{client.session_hash}", timeout=30) as response:
        next(response.iter_raw())


def one_round(url: str, sessions, files: list[Path], label: str) -> list[dict]:
    rows, clients = [], []
    for i, path in enumerate(files):
        client = Client(url, verbose=False)
        client.predict([handle_file(str(path))], api_name="/add_documents")
        clients.append(client)
        stats = sessions.stats()
        rows.append({"round": label, "step": f"{i + 1} uploaded", "rss": rss_mb(), "chunks": stats["chunks"]})
        print(rows[-1], file=sys.stderr)
    for client in clients:
        _close_tab(url, client)
    deadline = time.monotonic() + 60
    while sessions.stats()["sessions"] and time.monotonic() < deadline:
        time.sleep(0.1)
    gc.collect()
    rows.append(
        {"round": label, "step": "all tabs closed", "rss": rss_mb(), "chunks": sessions.stats()["chunks"]}
    )
    trim()
    rows.append(
        {
            "round": label,
            "step": "closed + malloc_trim",
            "rss": rss_mb(),
            "chunks": sessions.stats()["chunks"],
        }
    )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=4, help="sessions per round")
    p.add_argument("--upload-kb", type=int, default=300, help="size of each session's upload")
    p.add_argument("--rounds", type=int, default=2, help="rounds of N sessions opening and closing")
    args = p.parse_args(argv)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, date {time.strftime('%Y-%m-%d')}")
    print(
        "command: python benchmarks/bench_app_sessions.py " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--feedback-db", f"{tmp}/f.sqlite", "--upload-max-mb", "20"]
        demo = medchat_app.build_demo(medchat_app.parse_args(flags, environ={}), engine=FixedEngine())
        port = _port()
        demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=port)
        url, sessions = f"http://127.0.0.1:{port}/", demo.medchat_sessions
        files = [upload_file(Path(tmp), args.upload_kb, 37 * i) for i in range(args.sessions)]
        one_round(url, sessions, files[:1], "warm-up")  # jieba, allocator pools, gradio_client
        gc.collect()
        trim()
        rows = [
            {
                "round": "-",
                "step": f"app up, base index {len(sessions.base)} chunks",
                "rss": rss_mb(),
                "chunks": 0,
            }
        ]
        for n in range(1, args.rounds + 1):
            rows += one_round(url, sessions, files, str(n))
        demo.close()
    print("\n| round | step | RSS MiB | chunks held |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['step']} | {r['rss']:.0f} | {r['chunks']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
