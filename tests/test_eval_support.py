"""Support for the evaluation tests: ``evaluate(...)`` runs ``python -m evaluation`` in-process, and
``ScriptedEndpoint`` is a scripted OpenAI-compatible endpoint: the test double for the upstream judge
LLM (and for a model whose answers a test must know in advance).

It is a real HTTP server (stdlib ``ThreadingHTTPServer`` on 127.0.0.1, port 0) speaking the
``/v1/chat/completions`` and ``/v1/models`` JSON of the OpenAI API, so evaluation's real client
(``model.client.OpenAIEngine`` over the official ``openai`` package), its retries, concurrency and
parsing all run; only the text of each reply comes from ``reply(messages) -> str``, a function the
test supplies instead of a large model. Other evaluation tests import ``ScriptedEndpoint`` from here.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest

from evaluation.__main__ import main


def evaluate(*argv) -> dict:
    """Run ``python -m evaluation ARGV`` in-process (exit status 0 asserted); return its results.json."""
    argv = [str(a) for a in argv]
    assert main(argv) == 0
    return json.loads((Path(argv[argv.index("--out") + 1]) / "results.json").read_text(encoding="utf-8"))


class ScriptedEndpoint:
    """``with ScriptedEndpoint(reply) as ep: OpenAIEngine(ep.base_url, "scripted")``; ``ep.requests``
    keeps every message list received (in arrival order). ``reply`` returning None makes that request
    fail with HTTP 400."""

    def __init__(self, reply):
        self.reply = reply
        self.requests: list[list[dict]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self):
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body["messages"])
                text = endpoint.reply(body["messages"])
                if text is None:  # the script's way to make this request fail
                    self._send(
                        400, {"error": {"message": "scripted failure", "type": "invalid_request_error"}}
                    )
                    return
                self._send(
                    200,
                    {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_scripted_endpoint_speaks_the_openai_protocol():
    with ScriptedEndpoint(lambda messages: "echo: " + messages[-1]["content"]) as ep:
        client = openai.OpenAI(base_url=ep.base_url, api_key="x", max_retries=0)
        out = client.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "你好"}])
        assert out.choices[0].message.content == "echo: 你好"
        assert ep.requests == [[{"role": "user", "content": "你好"}]]


def test_every_task_names_its_model_one_way(tmp_path, capsys):
    """model/engines.py's flags and errors in every task: --model or --base-url + --api-model."""
    from evaluation.__main__ import TASKS

    data = "data/samples/eval/dialogues_sample.jsonl"
    out = str(tmp_path / "o")
    cases = [
        (["--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--api-model", "x"], "are alternatives"),
        (["--base-url", "http://127.0.0.1:9/v1"], "--base-url needs --api-model"),
        ([], "no model given: pass --model"),
    ]
    for flags, message in cases:
        assert main(["dialogue", "--data", data, "--out", out, *flags]) == 2
        assert message in capsys.readouterr().err
    assert set(TASKS) == {"mcq", "ner", "dialogue", "bias", "judge"}
    for name in TASKS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "--api-model" in capsys.readouterr().out


def test_compare_knows_no_task_by_name():
    """compare.py imports no task module: a task adds its own comparison section through its Task."""
    from test_imports import imports_of, project_modules

    modules = project_modules()
    imported = imports_of("evaluation.compare", modules["evaluation.compare"], modules)
    assert not imported & {
        "evaluation.mcq",
        "evaluation.ner",
        "evaluation.dialogue",
        "evaluation.bias",
        "evaluation.judge",
    }
