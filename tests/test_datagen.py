"""Datagen: the exact fast ROUGE-L filter, the reply parser, seed reading, and whole runs over HTTP.

The task-generation runs talk to a real HTTP server on 127.0.0.1 through the real client
(model/client.py, the openai package). For well-formed task batches that server is a *test
double for the upstream LLM* (a strong model such as GPT-4 in AlpaCare): it replays fixed batches
built from real Chinese patient questions, with known malformed and duplicate items mixed in, and
can answer 429/5xx first or slowly. A tiny random model cannot write parseable tasks, so the run
against our real model server (tests/test_server.py's fixture model) checks the other property:
garbage is dropped and counted, never kept.
"""

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, SHARED_DATA, shared_dialogue_texts
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from datagen.__main__ import main as datagen_main
from datagen.dedup import NearDuplicateFilter, reference_decisions, tokenize
from datagen.prompts import parse_tasks
from datagen.records import DatagenError, log_path, read_tasks, resume_jsonl
from datagen.run import generate_responses, generate_tasks
from model.client import OpenAIEngine
from model.generate import GenerationSettings
from model.server import BackgroundServer

ALPACARE_SEEDS = SHARED_DATA / "alpacare" / "med_seed.json"
ZH_SEEDS = REPO / "data" / "samples" / "seeds_zh.json"


# ---------------------------------------------------------------------------- the filter


def _perturb(text: str, rng: random.Random, vocab: list[str]) -> str:
    """Random edits (delete / insert / substitute / swap tokens) at a random intensity."""
    zh = bool(re.search(r"[\u4e00-\u9fff]", text))
    toks = list(text) if zh else text.split()
    for _ in range(rng.randrange(0, max(2, len(toks) // 2))):
        op = rng.random()
        if op < 0.3 and len(toks) > 1:
            del toks[rng.randrange(len(toks))]
        elif op < 0.6:
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(vocab))
        elif op < 0.9 and toks:
            toks[rng.randrange(len(toks))] = rng.choice(vocab)
        elif len(toks) > 2:
            i = rng.randrange(len(toks) - 1)
            toks[i], toks[i + 1] = toks[i + 1], toks[i]
    return ("" if zh else " ").join(toks)


def test_tokenize_chinese_by_character_and_latin_by_word():
    from rouge_score.tokenize import tokenize as rouge_tokenize

    assert tokenize("高血压患者，能吃ACE inhibitor吗？") == list("高血压患者能吃") + [
        "ace",
        "inhibitor",
        "吗",
    ]
    english = "Explain the clinical significance of surfactant (in our lungs), e.g. for 2 infants!"
    assert tokenize(english) == rouge_tokenize(english, None)  # AlpaCare's English decisions are kept


@pytest.mark.needs_shared
def test_filter_decisions_equal_all_pairs_reference():
    """The pruned filter and plain rouge_score all-pairs make identical accept/reject decisions on
    real Chinese and English instructions and random perturbations of them."""
    rng = random.Random(7)
    seeds = [t["instruction"] for t in read_tasks(ALPACARE_SEEDS)][:40] + [
        t["instruction"] for t in read_tasks(ZH_SEEDS)
    ]
    questions = [q for q in shared_dialogue_texts(limit=120)[::2] if 8 <= len(q) <= 150]
    vocab = list("的是患者医生治疗高血压糖尿病") + ["the", "of", "patient", "treatment", "disease"]
    bases = seeds + questions
    candidates = [_perturb(rng.choice(bases), rng, vocab) for _ in range(260)]
    candidates += rng.sample(questions, 20)  # some originals: exact duplicates or clean accepts
    rng.shuffle(candidates)

    reference = reference_decisions(seeds, candidates, threshold=0.7)
    flt = NearDuplicateFilter(0.7)
    flt.add_all(seeds)
    fast = [flt.offer(c).accepted for c in candidates]

    assert fast == reference
    assert 30 < sum(reference) < len(candidates) - 30  # the sample exercises both decisions
    pairs = sum(len(seeds) + sum(reference[:i]) for i in range(len(candidates)))
    assert flt.lcs_computed < pairs / 20  # and the pruning skipped almost every LCS


def test_filter_threshold_is_strict_like_alpacare():
    flt = NearDuplicateFilter(0.7)
    flt.add("a b c d e f g h i j")
    # 7 of 10 tokens in common: F = 0.7 exactly, which AlpaCare keeps (it drops scores above 0.7).
    assert flt.check("a b c d e f g x y z").accepted
    verdict = flt.check("a b c d e f g h x y")
    assert not verdict.accepted and verdict.score == pytest.approx(0.8)
    assert verdict.similar_to == "a b c d e f g h i j"


# ---------------------------------------------------------------------------- parsing and files


def test_parse_tasks_drops_malformed_items_with_reasons():
    reply = """以下是新任务：
1. **Type:** 开放式问答
**Topic:** 心血管
View: 患者
Difficulty: 2
Instruction: 我最近总是觉得心慌，
这是怎么回事？
Input: <noinput>
###
Type: 摘要
Topic: 内分泌
View: 医生
Difficulty: 难度4
Instruction：请总结下面这份糖尿病患者的病历要点。
Input：患者男，58岁，空腹血糖 9.1 mmol/L。
Type: 分类
Topic: 药理
View: 药师
Difficulty: 9
Instruction: 判断下列药物属于哪一类降压药。
Input: 氨氯地平
###
Instruction: 请看下图并描述病变。
###
Type: 问答
Topic: 心内
View: 患者
Difficulty: 1
Instruction: What is the normal adult resting heart rate?
Input: <noinput>
###
just some words
###
Type: 开放式问答
Topic: 呼吸
View: 学生
Difficulty: 3
Instruction: 解释哮喘的病"""
    parsed = parse_tasks(reply, "zh", truncated=True)
    assert [t["instruction"] for t in parsed.tasks] == [
        "我最近总是觉得心慌，\n这是怎么回事？",
        "请总结下面这份糖尿病患者的病历要点。",
    ]
    assert parsed.tasks[0]["input"] == "" and parsed.tasks[0]["difficulty"] == 2
    assert parsed.tasks[1]["input"].startswith("患者男") and parsed.tasks[1]["difficulty"] == 4
    assert [r for r, _ in parsed.dropped] == [
        "bad_difficulty",  # a missing ### did not merge this task into the previous one's input
        "missing_fields",
        "wrong_language",
        "no_instruction",
        "truncated",
    ]


@pytest.mark.needs_shared
def test_reads_alpacare_and_our_seed_formats_and_names_bad_lines(tmp_path):
    alpacare = read_tasks(ALPACARE_SEEDS)
    assert len(alpacare) == 167
    assert all(t["difficulty"] in range(1, 6) for t in alpacare)
    assert any(t["input"] == "" for t in alpacare) and any(t["input"] for t in alpacare)  # <noinput> -> ""
    ours = read_tasks(ZH_SEEDS)
    assert 30 <= len(ours) <= 40
    assert {t["difficulty"] for t in ours} == {1, 2, 3, 4, 5}
    assert all(re.search(r"[\u4e00-\u9fff]", t["instruction"]) for t in ours)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a"}\n{"instruction": ""}\n', encoding="utf-8")
    with pytest.raises(DatagenError, match=r"bad\.jsonl:2: missing or empty 'instruction'"):
        read_tasks(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"instruction": "a"}\n{"instruction": \n', encoding="utf-8")
    with pytest.raises(DatagenError, match=r"broken\.jsonl:2: not valid JSON"):
        read_tasks(broken)


# ---------------------------------------------------------------------------- the upstream-LLM double

TYPES = ["开放式问答", "解释", "摘要", "分类", "信息抽取", "选择题", "多步推理"]
TOPICS = ["心血管内科", "消化科", "儿科", "呼吸科", "皮肤科", "妇产科"]
VIEWS = ["患者", "家属", "医生", "医学生", "药师"]
VALID_PER_BATCH = 5


def _question_pool() -> list[str]:
    """Distinct real patient questions (near duplicates among them removed), as task instructions."""
    flt = NearDuplicateFilter(0.7)
    flt.add_all(t["instruction"] for t in read_tasks(ZH_SEEDS))
    texts = shared_dialogue_texts(limit=400)[::2]  # the patients' turns
    pool = [q.strip() for q in texts if 10 <= len(q.strip()) <= 120 and "图" not in q]
    return [q for q in pool if flt.offer(q).accepted]


def _task(
    kind: str, topic: str, view: str, difficulty, instruction: str, input_text: str = "<noinput>"
) -> str:
    return f"Type: {kind}\nTopic: {topic}\nView: {view}\nDifficulty: {difficulty}\nInstruction: {instruction}\nInput: {input_text}"


def replay_batch(k: int, pool: list[str], seed_instruction: str) -> str:
    """Reply number k: a malformed item, an out-of-range difficulty, a copy of a seed instruction,
    then VALID_PER_BATCH well-formed tasks (questions 5k .. 5k+4 of the pool)."""
    items = [
        "Topic: 儿科\nView: 家属\n（这一项忘了写指令）",
        _task("解释", "药理学", "药师", 9, f"解释第{k}种药物的作用机制和常见不良反应"),
        _task("开放式问答", "心血管内科", "患者", 1, seed_instruction),
    ]
    for j in range(VALID_PER_BATCH):
        i = VALID_PER_BATCH * k + j
        items.append(_task(TYPES[i % 7], TOPICS[i % 6], VIEWS[i % 5], i % 5 + 1, pool[i % len(pool)]))
    return "好的，以下是新任务：\n" + "\n###\n".join(items) + "\n###"


def replay_app(pool, seed_instruction, failures=(), delay_s=0.0, answer=None):
    """OpenAI-style /v1/chat/completions answering task batches (or, with ``answer``, a reply to
    any question). ``failures``: HTTP statuses to answer the first requests with."""
    app = FastAPI()
    app.state.calls = []  # (status, stream) per request, in order
    app.state.batches = 0
    failures = list(failures)

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        if failures:
            status = failures.pop(0)
            app.state.calls.append(status)
            headers = {"retry-after-ms": "20"} if status == 429 else {}
            return JSONResponse({"error": {"message": f"replayed {status}", "type": "test"}}, status, headers)
        app.state.calls.append(200)
        await asyncio.sleep(delay_s)
        prompt = body["messages"][-1]["content"]
        if answer is not None:
            text = answer(prompt)
        else:
            text = replay_batch(app.state.batches, pool, seed_instruction)
            app.state.batches += 1
        head = {"id": "x", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            return {**head, "object": "chat.completion", "choices": [choice]}

        def chunk(delta, finish=None):
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n"

        def events():
            yield chunk({"role": "assistant", "content": ""})
            for i in range(0, len(text), 40):
                yield chunk({"content": text[i : i + 40]})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def tasks_argv(out, url: str, num: int, *extra: str) -> list[str]:
    """`datagen tasks` arguments against the double at ``url``."""
    return ["tasks", "--seeds", str(ZH_SEEDS), "--num", str(num), "--out", str(out), "--base-url", url + "/v1",
            "--api-model", "m", "--no-progress", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def pool():
    return _question_pool()


@pytest.fixture(scope="module")
def zh_seeds():
    return read_tasks(ZH_SEEDS)


@pytest.mark.needs_shared
def test_task_run_end_to_end_counts_and_sft_records(tmp_path, pool, zh_seeds):
    """tasks over HTTP (with a 429 and a 503 retried by the client), then responses, then the
    training reader: every kept task is well formed and distinct; every drop is counted by reason."""
    from training.data import read_conversations

    app = replay_app(pool, zh_seeds[0]["instruction"], failures=[429, 503])
    with BackgroundServer(app) as upstream:
        engine = OpenAIEngine(upstream.url + "/v1", "upstream-double", max_retries=3)
        out = tmp_path / "tasks.jsonl"
        stats = generate_tasks(engine, zh_seeds, out, num=12, batch_tasks=8, concurrency=1, progress=False)
        assert app.state.calls[:3] == [429, 503, 200]  # retried with backoff, not failed

        tasks = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(tasks) == 12 == stats["records"]
        assert [t["instruction"] for t in tasks] == pool[:12]
        assert len({t["id"] for t in tasks}) == 12
        assert all(t["input"] == "<noinput>" and t["difficulty"] in "12345" for t in tasks)
        # 3 requests: each dropped its 3 bad items before the quota was reached.
        assert stats["requests"] == 3 and stats["failed_requests"] == 0
        assert stats["dropped"] == {"no_instruction": 3, "bad_difficulty": 3, "near_duplicate": 3}
        assert sum(stats["by_difficulty"].values()) == 12 and set(stats["by_view"]) <= set(VIEWS)
        assert json.loads((tmp_path / "tasks.jsonl.stats.json").read_text())["records"] == 12

    # Responses from a second model (the double answering each question).
    answers = replay_app(pool, "", answer=lambda q: f"针对“{q[:10]}”的回答：请及时就医。")
    with BackgroundServer(answers) as responder:
        engine = OpenAIEngine(responder.url + "/v1", "responder", max_retries=0)
        sft = tmp_path / "sft.jsonl"
        stats = generate_responses(engine, read_tasks(out), sft, concurrency=3, progress=False)
    records = [json.loads(line) for line in sft.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 12 == stats["records"]
    by_instruction = {r["instruction"]: r for r in records}
    assert set(by_instruction) == set(pool[:12])
    for q, r in by_instruction.items():
        assert r["input"] == "" and r["output"] == f"针对“{q[:10]}”的回答：请及时就医。"
    conversations = read_conversations([sft])
    assert len(conversations) == 12 and all(c[-1]["role"] == "assistant" for c in conversations)


@pytest.mark.needs_shared
def test_stats_cli_prints_table(tmp_path, capsys, pool, zh_seeds):
    out = tmp_path / "t.jsonl"
    with BackgroundServer(replay_app(pool, zh_seeds[1]["instruction"])) as upstream:
        code = datagen_main(tasks_argv(out, upstream.url, 6))
    assert code == 0
    capsys.readouterr()
    assert datagen_main(["stats", str(out), "--json", str(tmp_path / "s.json")]) == 0
    printed = capsys.readouterr().out
    assert "6 records" in printed and "by topic" in printed and "near_duplicate" in printed
    assert json.loads((tmp_path / "s.json").read_text())["records"] == 6


@pytest.mark.needs_shared
def test_endpoint_down_stops_with_clear_error(tmp_path, pool, zh_seeds):
    app = replay_app(pool, zh_seeds[0]["instruction"], failures=[500] * 50)
    with BackgroundServer(app) as upstream:
        engine = OpenAIEngine(upstream.url + "/v1", "m", max_retries=0)
        with pytest.raises(DatagenError, match="5 requests in a row failed.*HTTP 500.*re-run"):
            generate_tasks(engine, zh_seeds, tmp_path / "t.jsonl", num=5, concurrency=2, progress=False)


@pytest.mark.needs_shared
def test_resume_after_kill_no_duplicates_nothing_lost(tmp_path, pool, zh_seeds):
    """A run killed mid-way (SIGKILL, plus a half-written last line) and re-run ends with exactly
    --num distinct tasks, the killed run's tasks first and unchanged."""
    out = tmp_path / "tasks.jsonl"
    app = replay_app(pool, zh_seeds[0]["instruction"], delay_s=0.25)
    with BackgroundServer(app) as upstream:
        cmd = [sys.executable, "-m", "datagen", *tasks_argv(out, upstream.url, 30, "--concurrency", "2")]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (out.exists() and len(out.read_bytes().splitlines()) >= 8):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the first run wrote nothing"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = resume_jsonl(out)
        assert 8 <= len(first) < 30
        with out.open("ab") as f:  # as if killed in the middle of writing the next line
            f.write('{"id": "task-0000xx", "instruction": "半'.encode())

        assert datagen_main(cmd[3:]) == 0
    final = resume_jsonl(out)
    assert final[: len(first)] == first
    assert len(final) == 30
    assert len({t["instruction"] for t in final}) == 30 and len({t["id"] for t in final}) == 30
    assert all(t["instruction"] in pool for t in final)


@pytest.mark.needs_shared
def test_responses_resume_skips_answered_tasks(tmp_path, pool, zh_seeds):
    tasks = zh_seeds[:6]
    sft = tmp_path / "sft.jsonl"
    answers = replay_app(pool, "", answer=lambda q: "答：" + q[:8])
    with BackgroundServer(answers) as responder:
        engine = OpenAIEngine(responder.url + "/v1", "r", max_retries=0)
        generate_responses(engine, tasks[:4], sft, concurrency=2, progress=False)
        generate_responses(engine, tasks, sft, concurrency=2, progress=False)
    assert answers.state.calls == [200] * 6  # the 4 answered tasks were not asked again
    records = resume_jsonl(sft)
    assert sorted(r["instruction"] for r in records) == sorted(t["instruction"] for t in tasks)
    with_input = next(r for r in records if r["input"])
    assert with_input["output"] == "答：" + (with_input["instruction"] + "\n" + with_input["input"])[:8]


# ---------------------------------------------------------------------------- against our real server


@pytest.fixture(scope="module")
def real_server(tiny_model_dir):
    from model.generate import LocalEngine
    from model.load import load_model
    from model.server import build_app

    engine = LocalEngine(load_model(str(tiny_model_dir), device="cpu"))
    with BackgroundServer(build_app(engine, "tiny", refuse_harmful=False)) as srv:
        yield srv


def test_garbage_from_a_real_model_is_dropped_and_counted(tmp_path, real_server, zh_seeds):
    """Our server with a tiny random model writes no parseable task: the run keeps nothing, stops
    at --max-requests, and counts every item of every reply under a reason."""
    engine = OpenAIEngine(real_server.url + "/v1", "tiny", max_retries=0)
    out = tmp_path / "tasks.jsonl"
    settings = GenerationSettings(max_new_tokens=24, temperature=1.0, top_p=1.0)
    stats = generate_tasks(
        engine,
        zh_seeds,
        out,
        num=4,
        k_seeds=1,
        concurrency=2,
        settings=settings,
        max_requests=2,
        progress=False,
    )
    assert stats["records"] == 0 and out.read_text() == ""
    assert stats["requests"] == 2 and stats["items_seen"] >= 2
    assert sum(stats["dropped"].values()) == stats["items_seen"]
    assert set(stats["dropped"]) <= {"no_instruction", "truncated", "missing_fields"}

    sft = tmp_path / "sft.jsonl"
    stats = generate_responses(
        engine, zh_seeds[:3], sft, settings=GenerationSettings(max_new_tokens=8), progress=False
    )
    assert stats["records"] + sum(stats["dropped"].values()) == 3  # each answer kept or counted


def test_local_model_backend_via_cli(tmp_path, tiny_model_dir):
    """--model runs the model in-process (model/generate.py); its garbage is counted too, and
    falling short of --num within --max-requests exits with status 1."""
    out = tmp_path / "tasks.jsonl"
    argv = ["tasks", "--num", "2", "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu",
            "--k-seeds", "1", "--max-new-tokens", "16", "--max-requests", "1", "--no-progress"]  # fmt: skip
    assert datagen_main(argv) == 1
    stats = json.loads((tmp_path / "tasks.jsonl.stats.json").read_text())
    assert stats["records"] == 0 and stats["requests"] == 1
    assert sum(stats["dropped"].values()) == stats["items_seen"] >= 1


def test_model_flags_are_the_shared_ones(tmp_path, capsys):
    """datagen names its model as every command does (model/engines.py); the old --local-model is gone."""
    base = ["responses", "--tasks", str(ZH_SEEDS), "--out", str(tmp_path / "sft.jsonl"), "--no-progress"]
    with pytest.raises(SystemExit, match="--model and --base-url are alternatives"):
        datagen_main([*base, "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--api-model", "x"])
    with pytest.raises(SystemExit, match="no model given: pass --model"):
        datagen_main(base)
    with pytest.raises(SystemExit) as err:
        datagen_main([*base, "--local-model", "m"])
    assert err.value.code == 2 and "unrecognized arguments: --local-model" in capsys.readouterr().err
    assert not (tmp_path / "sft.jsonl").exists()


def test_out_refuses_what_datagen_did_not_write(tmp_path, capsys):
    """--out never destroys a file or folder it did not write: a user's file (even one whose last line
    looks cut off) and a folder are refused and left byte for byte; our own output continues; the
    other stage's output is refused; --overwrite replaces."""
    mine = tmp_path / "mine.jsonl"
    content = b'{"instruction": "my own data"}\n{"cut": '
    mine.write_bytes(content)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    answers = replay_app([], "", answer=lambda q: "请及时就医。")
    with BackgroundServer(answers) as srv:

        def responses(out, *extra):
            return datagen_main(["responses", "--tasks", str(ZH_SEEDS), "--out", str(out), "--base-url",
                                 srv.url + "/v1", "--api-model", "m", "--no-progress", *extra])  # fmt: skip

        assert responses(mine) == 2
        err = capsys.readouterr().err
        assert f"--out {mine} already exists and was not written by `datagen responses`" in err
        assert "--overwrite" in err and mine.read_bytes() == content and not log_path(mine).exists()
        assert responses(folder) == 2 and "is a folder" in capsys.readouterr().err
        assert [p.name for p in folder.iterdir()] == ["keep.txt"]

        sft = tmp_path / "sft.jsonl"
        assert responses(sft) == 0
        records = sft.read_text(encoding="utf-8").splitlines()
        calls = len(answers.state.calls)
        assert len(records) == len(read_tasks(ZH_SEEDS)) and calls == len(records)
        assert responses(sft) == 0  # a re-run of our own output: nothing asked again, nothing lost
        assert len(answers.state.calls) == calls and sft.read_text(encoding="utf-8").splitlines() == records

        tasks = ["tasks", "--num", "2", "--out", str(sft), "--base-url", srv.url + "/v1", "--api-model", "m"]
        assert datagen_main([*tasks, "--no-progress"]) == 2
        assert "holds `datagen responses` output" in capsys.readouterr().err
        assert sft.read_text(encoding="utf-8").splitlines() == records

        assert responses(mine, "--overwrite") == 0
    rows = [json.loads(line) for line in mine.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(records) and all(r["output"] == "请及时就医。" for r in rows)


def test_tasks_and_responses_against_our_server_with_default_flags(tmp_path, tiny_model_dir, caplog):
    """Our own API server with its default limits (replies capped at 2,048 tokens) and datagen with its
    default generation flags (tasks ask for 3,072): datagen reads the cap from /v1/models and asks for
    what the server allows, so both stages run (issue 17 item 6). Only the server's wall-clock limit
    is shortened (a random model rarely stops on its own; a reply cut by it is dropped and counted)."""
    from model.generate import LocalEngine
    from model.limits import ServingLimits
    from model.load import load_model
    from model.server import build_app

    engine = LocalEngine(load_model(str(tiny_model_dir), device="cpu"))
    limits = ServingLimits(timeout_s=3)
    assert limits.max_new_tokens_cap == ServingLimits().max_new_tokens_cap == 2048
    with BackgroundServer(build_app(engine, "tiny", limits=limits)) as srv:
        cards = OpenAIEngine(srv.url + "/v1", "tiny").client.models.list().data
        assert [(c.id, c.model_extra["max_tokens"]) for c in cards] == [("tiny", 2048)]
        endpoint = ["--base-url", srv.url + "/v1", "--api-model", "tiny", "--concurrency", "1", "--no-progress"]  # fmt: skip
        tasks = tmp_path / "tasks.jsonl"
        argv = ["tasks", "--num", "1", "--k-seeds", "1", "--max-requests", "1", "--out", str(tasks), *endpoint]  # fmt: skip
        assert datagen_main(argv) == 1  # a random model writes no usable task: short of --num, status 1
        assert "--max-new-tokens 3072 is over the endpoint's limit of 2048" in caplog.text
        stats = json.loads((tmp_path / "tasks.jsonl.stats.json").read_text())
        assert stats["requests"] == 1 and stats["failed_requests"] == 0
        one = tmp_path / "one.jsonl"
        one.write_text(json.dumps(read_tasks(ZH_SEEDS)[0], ensure_ascii=False) + "\n", encoding="utf-8")
        sft = tmp_path / "sft.jsonl"
        assert datagen_main(["responses", "--tasks", str(one), "--out", str(sft), *endpoint]) == 0
        stats = json.loads((tmp_path / "sft.jsonl.stats.json").read_text())
        assert stats["requests"] == 1 and stats["failed_requests"] == 0
        assert stats["records"] + sum(stats["dropped"].values()) == 1
