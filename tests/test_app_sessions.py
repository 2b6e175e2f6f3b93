"""Per-session document indexes in the launched app (retrieval/sessions.py behind ui/files.py): an
upload goes into the session's bounded index and grounds its answers only; the index is released
when the browser session closes (Gradio's unload, fired when the page's heartbeat connection drops)
or idles out; the caps give a readable error. The app's export folder keeps one file per session
(none once it closed), and a start removes the temporary folders killed runs left (model/tempdirs.py). Driven by gradio_client and httpx against a launched
app over the sample knowledge base, with the scripted engine of tests/test_serving_reasoning.py.

    pytest tests/test_app_sessions.py
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from gradio_client import Client, handle_file
from test_serving_reasoning import ScriptedEngine, medchat_app_port

import app as medchat_app
from model import artifacts_dir
from model.tempdirs import PREFIX, make_temp_dir, owned_temp_dir

DOC = "斑马果综合征的首选处理是口服补液，并在二十四小时内复诊。"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sessions-app")
    args = medchat_app.parse_args(
        ["--feedback-db", str(tmp / "f.sqlite"), "--session-max-chunks", "4"], environ={}
    )
    engine = ScriptedEngine(["Drink ", "fluids."])
    demo = medchat_app.build_demo(args, engine=engine)
    port = medchat_app_port()
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=port)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", demo=demo, sessions=demo.medchat_sessions, tmp=tmp)
    demo.close()


def _upload(client, path):
    return client.predict([handle_file(str(path))], api_name="/add_documents")


def _sources(client, question) -> str:
    reply = client.predict(question, 0.0, 0.9, 8, 1.0, True, 1, api_name="/chat")
    return "\n".join(
        m["content"] for m in reply if (m.get("metadata") or {}).get("title", "").startswith("📚")
    )


def _close_tab(app, client) -> None:
    """What a browser does: hold the session's heartbeat connection open, then drop it."""
    url = f"{app.url}gradio_api/heartbeat/{client.session_hash}"
    with httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        next(response.iter_raw())


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_an_upload_lives_in_its_session_and_is_freed_when_the_tab_closes(app):
    base = len(app.sessions.base)
    doc = app.tmp / "notes.md"
    doc.write_text(DOC, encoding="utf-8")
    client = Client(app.url, verbose=False)
    status = _upload(client, doc)
    assert "Added notes.md" in status and f"{base + 1} chunks in all" in status
    stats = app.sessions.stats()
    assert stats["sessions"] == 1 and stats["chunks"] == 1 and stats["bytes"] > 0
    assert "notes.md" in _sources(client, "斑马果综合征怎么处理？")
    other = Client(app.url, verbose=False)
    assert "notes.md" not in _sources(other, "斑马果综合征怎么处理？")
    assert len(app.sessions.base) == base  # the shared index never saw the upload
    _close_tab(app, client)
    _wait_for(lambda: app.sessions.stats() == {"sessions": 0, "chunks": 0, "bytes": 0})


def test_an_idle_session_is_freed_and_its_next_question_uses_the_shared_index(app):
    now = [time.monotonic()]
    app.sessions.clock = lambda: now[0]
    try:
        doc = app.tmp / "idle.md"
        doc.write_text(DOC.replace("斑马果", "长颈鹿果"), encoding="utf-8")
        client = Client(app.url, verbose=False)
        _upload(client, doc)
        assert app.sessions.stats()["sessions"] == 1
        now[0] += app.sessions.idle_seconds + 1
        assert app.sessions.stats() == {"sessions": 0, "chunks": 0, "bytes": 0}
        assert "idle.md" not in _sources(client, "长颈鹿果综合征怎么处理？")
    finally:
        app.sessions.clock = time.monotonic


def test_the_per_session_cap_gives_a_readable_error_and_adds_nothing(app):
    big = app.tmp / "big.md"
    big.write_text(
        "\n\n".join(f"第{i}段：" + "高血压患者要少盐、规律服药、定期复查。" * 30 for i in range(12)), "utf-8"
    )
    client = Client(app.url, verbose=False)
    with pytest.raises(Exception, match="limit is 4 per session"):
        _upload(client, big)
    assert app.sessions.stats()["chunks"] == 0


# ------------------------------------------------------------------------------ temporary folders


def _chat(client, text):
    return client.predict(text, 0.0, 0.9, 8, 1.0, False, 1, api_name="/chat")


def test_a_session_keeps_one_export_file_and_none_once_its_tab_closes(app):
    client = Client(app.url, verbose=False)
    _chat(client, "导出一")
    first = client.predict(api_name="/export_conversation")
    _chat(client, "导出二")
    second = client.predict(api_name="/export_conversation")
    asked = lambda path: [  # noqa: E731
        m["content"]
        for m in json.loads(Path(path).read_text(encoding="utf-8"))["messages"]
        if m["role"] == "user"
    ]
    assert asked(first) == ["导出一"] and asked(second) == ["导出一", "导出二"]  # Gradio's copies, served
    export_dir = app.demo.medchat_files.export_dir
    (kept,) = list(export_dir.iterdir())  # the first export's file here went when the second came
    assert kept.name == Path(second).name
    _close_tab(app, client)
    _wait_for(lambda: not list(export_dir.iterdir()))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_start_removes_folders_that_killed_runs_left(tmp_path):
    home = artifacts_dir()
    stale = home / f"{PREFIX}demo-build-{_dead_pid()}-x1y2"
    live = make_temp_dir(home, "demo-build")  # this process: still running
    other = home / ".demo-model-build-abc"  # not ours: never touched
    for folder in (stale, other):
        (folder / "part").mkdir(parents=True)
    args = medchat_app.parse_args(["--no-retrieval", "--feedback-db", str(tmp_path / "f.sqlite")], environ={})
    demo = medchat_app.build_demo(args, engine=ScriptedEngine(["ok"]))
    assert not stale.exists() and live.exists() and other.exists()
    assert demo.medchat_files.export_dir.name.startswith(f"{PREFIX}export-{os.getpid()}-")
    with pytest.raises(RuntimeError), owned_temp_dir(home, "gguf") as work:
        (work / "half-written").write_text("x")
        raise RuntimeError("killed mid-conversion")
    assert not work.exists()
    shutil.rmtree(live)
    shutil.rmtree(other)
