"""Multi-turn dialogue against reference conversations: the model writes every assistant turn given the
reference history before it; replies are scored with BLEU-4 and BLEU-1 (sacrebleu; its "zh" tokenizer,
i.e. one token per Chinese character, for Chinese), ROUGE-L (rouge_score, character tokens for
Chinese), chrF (sacrebleu; character n-grams) and distinct-1/2 (characters for Chinese, words for English).

    python -m evaluation dialogue --model MODEL --data data/samples/eval/dialogues_sample.jsonl --out runs/dlg

Data: JSONL or a JSON array of ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}``
or ShareGPT ``{"conversations": [{"from": "human"|"gpt"|"system", "value": ...}]}``. Scores are
computed per language (zh / en, detected per conversation), since their tokenizations differ.
"""

from __future__ import annotations

import re
from pathlib import Path

from evaluation import runner
from evaluation.answers import final_answer
from evaluation.data import DataError, detect_language, read_records, where
from evaluation.report import fmt, fmt_ci, md_table, published_section
from evaluation.stats import mean_ci

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}


def read_dialogues(path: str | Path) -> list[dict]:
    """Conversations as ``{"id", "messages", "lang", "source"}``; roles checked to alternate."""
    dialogues = []
    for line, rec in read_records(path):
        if isinstance(rec.get("messages"), list):
            raw = [(m.get("role"), m.get("content")) for m in rec["messages"] if isinstance(m, dict)]
        elif isinstance(rec.get("conversations"), list):
            raw = [
                (SHAREGPT_ROLES.get(m.get("from")), m.get("value"))
                for m in rec["conversations"]
                if isinstance(m, dict)
            ]
        else:
            raise DataError(
                f"{where(path, line)}: expected 'messages' (role/content) or 'conversations' "
                "(ShareGPT from/value)"
            )
        messages = []
        for k, (role, content) in enumerate(raw):
            if (
                role not in ("system", "user", "assistant")
                or not isinstance(content, str)
                or not content.strip()
            ):
                raise DataError(
                    f"{where(path, line)}: turn {k + 1} needs a role (system/user/assistant or "
                    f"human/gpt) and non-empty text, got {role!r}"
                )
            if role == "system" and k:
                raise DataError(f"{where(path, line)}: a system message may only come first")
            prev = messages[-1]["role"] if messages else None
            if role in ("user", "assistant") and prev == role:
                raise DataError(f"{where(path, line)}: turn {k + 1}: two {role} turns in a row")
            messages.append({"role": role, "content": content.strip()})
        if not any(m["role"] == "assistant" for m in messages[1:]):
            raise DataError(f"{where(path, line)}: no assistant turn after a user turn to evaluate")
        text = " ".join(m["content"] for m in messages)
        dialogues.append(
            {
                "id": str(rec.get("id", line)),
                "messages": messages,
                "lang": detect_language(text),
                "source": where(path, line),
            }
        )
    return dialogues


def turns(dialogues: list[dict]) -> list[dict]:
    """One evaluation turn per assistant reply: the reference history before it and the reference."""
    out = []
    for d in dialogues:
        for j, m in enumerate(d["messages"]):
            if m["role"] == "assistant" and j and d["messages"][j - 1]["role"] == "user":
                out.append(
                    {
                        "dialogue": d["id"],
                        "turn": j,
                        "lang": d["lang"],
                        "history": d["messages"][:j],
                        "reference": m["content"],
                    }
                )
    return out


def units(text: str, lang: str) -> list[str]:
    """Characters (Chinese, whitespace dropped) or lower-cased words (English) for distinct-n/ROUGE."""
    if lang == "zh":
        return [c for c in text if not c.isspace()]
    return re.findall(r"\w+", text.lower())


def distinct(texts: list[str], lang: str, n: int) -> float | None:
    """Distinct-n: unique n-grams over all n-grams in ``texts`` (None when there are none)."""
    grams = []
    for t in texts:
        u = units(t, lang)
        grams += [tuple(u[i : i + n]) for i in range(len(u) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


class _CharTokenizer:
    """rouge_score tokenizer giving one token per Chinese character (its default drops non-ASCII)."""

    def tokenize(self, text: str) -> list[str]:
        return units(text, "zh")


def metrics(hyps: list[str], refs: list[str], lang: str) -> dict:
    """BLEU-4, BLEU-1, chrF (corpus level, 0-100), ROUGE-L F (mean over turns, 0-100, t interval),
    distinct-1/2 of the replies and of the references."""
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU, CHRF

    tokenize = "zh" if lang == "zh" else "13a"
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_CharTokenizer() if lang == "zh" else None)
    rouge = [100 * scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)]

    def plain(v):
        return {"value": v, "low": None, "high": None, "n": len(hyps)}

    return {
        "bleu4": plain(BLEU(tokenize=tokenize).corpus_score(hyps, [refs]).score),
        "bleu1": plain(BLEU(tokenize=tokenize, max_ngram_order=1).corpus_score(hyps, [refs]).score),
        "chrf": plain(CHRF().corpus_score(hyps, [refs]).score),
        "rougeL": {k: v for k, v in mean_ci(rouge).items() if k != "sd"},
        "distinct1": plain(distinct(hyps, lang, 1)),
        "distinct2": plain(distinct(hyps, lang, 2)),
        "reference_distinct1": plain(distinct(refs, lang, 1)),
        "reference_distinct2": plain(distinct(refs, lang, 2)),
        "empty_replies": plain(sum(not h.strip() for h in hyps)),
    }


def render_report(results: dict) -> str:
    lines = [
        f"# Dialogue evaluation: {results['name']}",
        "",
        f"- model: {results['model']}",
        f"- data: {', '.join(results['data'])}",
        f"- command: `{results['command']}`",
        "",
    ]
    names = [
        "bleu4",
        "bleu1",
        "rougeL",
        "chrf",
        "distinct1",
        "distinct2",
        "reference_distinct1",
        "reference_distinct2",
        "empty_replies",
    ]
    langs = list(results["by_language"])
    rows = [[n] + [fmt_ci(results["by_language"][lang][n], 2) for lang in langs] for n in names]
    rows.insert(0, ["turns"] + [fmt(results["by_language"][lang]["bleu4"]["n"]) for lang in langs])
    lines += [
        md_table(["metric", *langs], rows),
        "BLEU, ROUGE-L and chrF are on a 0-100 scale; Chinese is scored per character. ROUGE-L is the "
        "mean F over turns with a t interval; BLEU and chrF are corpus-level.",
    ]
    return "\n".join(lines) + "\n" + published_section("dialogue")


class DialogueTask(runner.Task):
    name = "dialogue"
    help = "multi-turn reference dialogues: BLEU, ROUGE-L, chrF, distinct-n"
    description = __doc__

    def add_args(self, parser) -> None:
        parser.add_argument("--data", required=True, type=Path, help="JSONL/JSON of reference conversations")

    def prepare(self, args) -> list[dict]:
        return turns(read_dialogues(args.data)[: args.limit])

    def evaluate(self, run: runner.Run, rows: list[dict]) -> runner.Evaluation:
        replies = run.generate([r["history"] for r in rows], "dialogue turns")
        for row, reply in zip(rows, replies, strict=True):
            row["reply"] = final_answer(reply) or ""  # scored after any reasoning; "" if none was given
            if row["reply"] != reply.strip():
                row["raw_reply"] = reply
        by_language = {}
        for lang in sorted({r["lang"] for r in rows}, key=lambda x: x != "zh"):
            sub = [r for r in rows if r["lang"] == lang]
            by_language[lang] = metrics([r["reply"] for r in sub], [r["reference"] for r in sub], lang)
        items = [
            {k: v for k, v in r.items() if k != "history"} | {"context_turns": len(r["history"])}
            for r in rows
        ]
        return runner.Evaluation(
            summary={f"{lang}/{k}": v for lang, m in by_language.items() for k, v in m.items()},
            headline=[f"{lang}/{k}" for lang in by_language for k in ("bleu4", "rougeL", "chrf")],
            items=items,
            details={"by_language": by_language},
        )

    def report(self, results: dict, rows) -> str:
        return render_report(results)


TASK = DialogueTask()
