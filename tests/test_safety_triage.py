"""The optional triage check (safety/triage.py) against a real OpenAI-compatible HTTP server on
127.0.0.1 that gives fixed answers: an emergency the rules missed gets a notice, one the rules
raised is never removed, garbage and late answers leave the rules alone in charge (and no triage
field), outcomes are logged with latency and agreement; the demo model is refused.

    pytest tests/test_safety_triage.py
"""

import argparse
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from model.client import OpenAIEngine
from safety import check
from safety.triage import (
    TRIAGE_PROMPT,
    TriageCheck,
    TriageError,
    add_triage_args,
    combine,
    parse_answer,
    triage_from_args,
)

QUIET_BUT_URGENT = "我爸说他觉得不对劲，整个人说不上来的难受，脸色很差"  # no rule fires on it
RULE_EMERGENCY = "我爸胸口压着疼，一直出冷汗"
ORDINARY = "感冒了喝什么汤比较好？"
GARBAGE = "请回答乱码"
BAD_FIELD = "请回答错误字段"
SLOW = "请慢一点回答"

ANSWERS = {
    QUIET_BUT_URGENT: '{"emergency": true, "category": "cardiac", "reason": "possible cardiac event"}',
    RULE_EMERGENCY: 'Sure. {"emergency": false, "category": null, "reason": "sounds mild"}',
    ORDINARY: '{"emergency": false, "category": null, "reason": "general question"}',
    GARBAGE: "I think it is probably fine, maybe see a doctor?",
    BAD_FIELD: '{"emergency": "yes", "category": "cardiac"}',
    SLOW: '{"emergency": true, "category": "other", "reason": "late"}',
}
SLOW_SECONDS = 3.0


class _Handler(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: the fixed answer for the last user message, in OpenAI's format."""

    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        messages = body["messages"]
        _Handler.seen.append(messages)
        question = messages[-1]["content"]
        if question == SLOW:
            time.sleep(SLOW_SECONDS)
        reply = {
            "id": "chatcmpl-fixed",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": ANSWERS[question]},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def triage(endpoint):
    # A generous timeout: these tests must not depend on how loaded the machine is.
    check_ = TriageCheck(OpenAIEngine(endpoint, "fixed-triage", max_retries=0), timeout_s=60)
    yield check_
    check_.close()


def test_the_model_is_asked_with_the_triage_prompt_and_a_short_greedy_budget(triage):
    _Handler.seen.clear()
    assert triage.check(ORDINARY) is not None
    (messages,) = _Handler.seen
    assert messages == [{"role": "system", "content": TRIAGE_PROMPT}, {"role": "user", "content": ORDINARY}]
    assert triage.settings.temperature == 0 and triage.settings.max_new_tokens <= 128


def test_an_emergency_the_rules_missed_gets_a_notice_and_says_who_raised_it(triage):
    rules = check(QUIET_BUT_URGENT)
    assert not rules.emergency, "precondition: the rules do not flag this message"
    pending = triage.start(QUIET_BUT_URGENT, rules)
    result = pending.result()
    assert result.emergency and result.category == "cardiac" and result.model == "fixed-triage"
    assert result.latency_s >= 0
    merged = combine(rules, result)
    assert merged.emergency and merged.notice and "120" in merged.notice
    assert merged.categories == ["cardiac"] and merged.refuse is False
    assert merged.reasons[-1]["why"].startswith("triage model fixed-triage")
    assert merged.triage["agrees"] is False and merged.triage["emergency"] is True
    assert pending.result() is result  # resolved once


def test_an_emergency_the_rules_raised_is_never_removed(triage):
    rules = check(RULE_EMERGENCY)
    assert rules.emergency
    result = triage.check(RULE_EMERGENCY, rules)
    assert result.emergency is False
    merged = combine(rules, result)
    assert merged.emergency and merged.notice == rules.notice and merged.categories == rules.categories
    assert merged.triage["agrees"] is False


def test_agreement_on_an_ordinary_question_changes_nothing_but_records_the_check(triage):
    rules = check(ORDINARY)
    merged = combine(rules, triage.check(ORDINARY, rules))
    assert not merged.emergency and merged.notice is None
    assert merged.triage["agrees"] is True and merged.triage["model"] == "fixed-triage"


@pytest.mark.parametrize("message", [GARBAGE, BAD_FIELD])
def test_a_garbage_answer_leaves_the_rules_alone_and_claims_no_check(triage, message, caplog):
    rules = check(message)
    with caplog.at_level(logging.WARNING, logger="medchat.safety.triage"):
        result = triage.check(message, rules)
    assert result is None
    merged = combine(rules, result)
    assert merged is rules and merged.triage is None and "triage" not in json.dumps(merged.reasons)
    assert "rules alone decide" in caplog.text
    assert triage.stats["failed"] == 1


def test_a_late_answer_times_out_and_the_rules_alone_decide(endpoint, caplog):
    slow = TriageCheck(OpenAIEngine(endpoint, "fixed-triage", max_retries=0), timeout_s=0.2)
    rules = check(SLOW)
    with caplog.at_level(logging.WARNING, logger="medchat.safety.triage"):
        result = slow.start(SLOW, rules).result()
    slow.close()
    assert result is None and combine(rules, result) is rules
    assert "no answer within 0.2 s" in caplog.text and slow.stats == {
        "asked": 1,
        "answered": 0,
        "failed": 1,
        "agreed": 0,
        "added": 0,
    }


def test_outcomes_are_logged_with_latency_and_agreement(triage, caplog):
    with caplog.at_level(logging.INFO, logger="medchat.safety.triage"):
        triage.check(QUIET_BUT_URGENT, check(QUIET_BUT_URGENT))
    line = caplog.records[-1].getMessage()
    assert "emergency=True" in line and "latency=" in line and "rules=False" in line and "agree=False" in line
    assert triage.stats["added"] == 1 and triage.stats["answered"] == 1


def test_parse_answer_names_the_problem():
    assert (
        parse_answer('x {"emergency": true, "category": "weird", "reason": 3} y', "m", 0.1).category
        == "other"
    )
    with pytest.raises(TriageError, match="no JSON object"):
        parse_answer("no", "m", 0.1)
    with pytest.raises(TriageError, match="does not parse"):
        parse_answer("{emergency: yes}", "m", 0.1)
    with pytest.raises(TriageError, match="'emergency' must be true or false"):
        parse_answer('{"emergency": 1}', "m", 0.1)


def _args(*argv):
    parser = argparse.ArgumentParser()
    add_triage_args(parser)
    return parser.parse_args(list(argv))


def test_flags_name_an_endpoint_or_nothing_and_refuse_the_demo_model(endpoint, tmp_path):
    assert triage_from_args(_args()) is None
    remote = triage_from_args(_args("--triage-base-url", endpoint, "--triage-api-model", "fixed-triage"))
    assert isinstance(remote.engine, OpenAIEngine) and remote.name == "fixed-triage"
    remote.close()
    (tmp_path / "medchat_demo.json").write_text("{}")
    with pytest.raises(ValueError, match="demo model"):
        triage_from_args(_args("--triage-model", str(tmp_path)))
    with pytest.raises(ValueError, match="alternatives"):
        triage_from_args(
            _args("--triage-model", "x", "--triage-base-url", endpoint, "--triage-api-model", "fixed-triage")
        )


def test_the_chat_service_runs_it_beside_generation_and_records_it(endpoint, tiny_model_dir):
    """model/service.py: the triage check starts with the turn; its answer joins the decision the
    answer record keeps (and the notice the turn shows after the reply); a refused turn asks no model."""
    from model.generate import LocalEngine
    from model.load import load_model
    from model.service import ChatService

    triage = TriageCheck(OpenAIEngine(endpoint, "fixed-triage", max_retries=0), timeout_s=60)
    service = ChatService(LocalEngine(load_model(str(tiny_model_dir))), triage=triage)
    turn = service.begin([{"role": "user", "content": QUIET_BUT_URGENT}], service.settings(max_new_tokens=4))
    assert turn.emergency_notice is None and turn.triage is not None  # the rules alone, so far
    reply = "".join(turn.start())
    record = turn.record
    assert record.reply == reply and record.safety["emergency"] is True
    assert record.safety["triage"]["model"] == "fixed-triage" and record.safety["triage"]["agrees"] is False
    assert turn.emergency_notice and "120" in turn.emergency_notice

    asked = triage.stats["asked"]
    refused = service.begin([{"role": "user", "content": "帮我伪造一张病假条"}], service.settings())
    assert refused.refused and refused.record.safety["triage"] is None and triage.stats["asked"] == asked
    triage.close()


@pytest.mark.parametrize("command", ["app", "model.server"])
def test_the_app_and_the_api_server_take_the_triage_flags(command, endpoint):
    import importlib

    parser = importlib.import_module(command).build_parser()
    args = parser.parse_args(["--triage-base-url", endpoint, "--triage-api-model", "fixed-triage"])
    triage = triage_from_args(args)
    assert triage.name == "fixed-triage" and triage.check(ORDINARY).emergency is False
    triage.close()
    assert triage_from_args(parser.parse_args([])) is None
