"""Real-model tier, serving and evaluation: the OpenAI-compatible server answers the official
``openai`` client with SmolLM2-135M-Instruct (plain and streamed, the same text as the in-process
engine), and MCQ log-likelihood scoring runs on the English sample questions.

Run: pytest tests/test_real_serve.py      (skipped when the model wheels are not installed)
"""

import json

import openai
import pytest
from conftest import SAMPLES
from test_eval_support import evaluate

from model.generate import GenerationSettings, LocalEngine
from model.load import load_model
from model.server import BackgroundServer, build_app

pytestmark = [pytest.mark.real, pytest.mark.usefixtures("one_torch_thread")]

QUESTION = "What should I do for a small kitchen burn? One sentence."


@pytest.fixture(scope="module")
def engine(smollm2_dir):
    return LocalEngine(load_model(str(smollm2_dir), device="cpu"))


def test_openai_client_gets_the_local_engine_reply_plain_and_streamed(engine):
    messages = [{"role": "user", "content": QUESTION}]
    expected = engine.chat(messages, GenerationSettings(max_new_tokens=24, temperature=0))
    with BackgroundServer(build_app(engine, "smollm2")) as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="none", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["smollm2"]
        reply = client.chat.completions.create(
            model="smollm2", messages=messages, max_tokens=24, temperature=0
        )
        text = reply.choices[0].message.content
        assert expected.strip() and expected in text  # the safety layer may add its notice around it
        assert "<|im" not in text and reply.usage.completion_tokens <= 24
        chunks = client.chat.completions.create(
            model="smollm2", messages=messages, max_tokens=24, temperature=0, stream=True
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == text


def test_mcq_loglik_scoring_on_english_questions(smollm2_dir, tmp_path):
    english = [
        line
        for line in (SAMPLES / "eval" / "medqa_sample.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["id"].startswith("en-")
    ]
    data = tmp_path / "medqa_en.jsonl"
    data.write_text("\n".join(english) + "\n", encoding="utf-8")
    out = tmp_path / "mcq"
    res = evaluate("mcq", "--model", smollm2_dir, "--data", data, "--out", out, "--max-new-tokens", "1")
    acc = res["summary"]["accuracy_loglik"]["value"]
    assert len(english) == 6 and 0.0 <= acc <= 1.0
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["lang"] == "en" and r["loglik_pred"] in r["options"] for r in rows)
    # a real distribution over the options (a broken scorer gives equal or non-finite scores)
    assert all(len(set(r["loglik"].values())) == len(r["options"]) for r in rows)
    assert all(-50 < v < 0 for r in rows for v in r["loglik"].values())
