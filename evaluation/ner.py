"""Medical entity extraction by prompting, scored against CMeEE-style gold spans: entity-level
precision, recall and F1, strict (same span and type) and lenient (overlapping span, same type), per
type and micro-averaged.

    python -m evaluation ner --model Qwen/Qwen2.5-7B-Instruct --data CMeEE_dev.json --out runs/ner
    python -m evaluation ner --model MODEL --data data/samples/eval/ner_cmeee_sample.json --out runs/ner

Data: a JSON array or JSONL of ``{"text": ..., "entities": [{"start_idx", "end_idx", "type", "entity"}]}``
(CMeEE, CBLUE) or with ``start``/``end`` keys. CMeEE's ``end_idx`` is INCLUSIVE (``text[start_idx:end_idx
+ 1] == entity``); ``--span-end auto`` (default) checks every entity's ``entity`` text against both
conventions and picks the one that fits all of them; without entity texts it takes ``start_idx/end_idx``
as inclusive (CMeEE) and ``start/end`` as exclusive (Python slices). Pass ``inclusive`` or
``exclusive`` to say it yourself; a span that contradicts its entity text is an error naming the line.

Output format asked of the model: one entity per line, ``type: exact text`` (e.g. ``dis: 糖尿病``), or
``无``/``none`` when there is none; a JSON list of ``{"type", "entity"}`` is also accepted. A predicted
text is located at every place it occurs in the passage (but not inside a longer predicted entity
of its type when it occurs elsewhere too); a text that does not occur is a false positive (counted
as ``not_in_text``). A blank reply, or one with no entity in either format, is counted as
unparseable and scored as predicting nothing. Zero divisions score 0 (no predictions: precision 0).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evaluation import runner
from evaluation.data import DataError, detect_language, read_records, where
from evaluation.report import bar_chart, fmt_ci, md_table, published_section

# CMeEE's nine types: code -> (Chinese name, English name)
CMEEE_TYPES = {
    "dis": ("疾病", "disease"),
    "sym": ("临床表现", "symptom or sign"),
    "pro": ("医疗程序", "medical procedure"),
    "equ": ("医疗设备", "medical equipment"),
    "dru": ("药物", "drug"),
    "ite": ("医学检验项目", "laboratory test"),
    "bod": ("身体", "body part"),
    "dep": ("科室", "department"),
    "mic": ("微生物类", "microorganism"),
}
_NONE = re.compile(r"^\W*(无|没有|没有实体|未发现实体|none|no entities?|n/?a|\[\])\W*$", re.IGNORECASE)
_STRIP = "\"'“”‘’「」『』《》`*.,;:。，；：、 "


@dataclass(frozen=True, order=True)
class Span:
    """An entity mention: ``text[start:end]`` (end exclusive) of type ``type``."""

    start: int
    end: int
    type: str


@dataclass
class Doc:
    """One passage with its gold entities."""

    id: str
    text: str
    gold: list[Span]
    lang: str
    source: str


@dataclass
class Prediction:
    """What one reply predicts: located spans, texts not found in the passage, and parse status."""

    spans: set[Span] = field(default_factory=set)
    not_in_text: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    status: str = "ok"  # ok | empty (the model said there is none) | unparseable


def _entity_fields(ent: dict, path, line: int) -> tuple[int, int, str, str | None]:
    keys = ("start_idx", "end_idx") if "start_idx" in ent else ("start", "end")
    try:
        start, end = int(ent[keys[0]]), int(ent[keys[1]])
        etype = str(ent["type"]).strip()
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"{where(path, line)}: entity {ent!r} needs integer start_idx/end_idx (or start/end) and a type"
        ) from None
    return start, end, etype, ent.get("entity")


def span_convention(records: list[tuple[int, dict]], path, span_end: str) -> str:
    """Resolve ``--span-end auto`` for a file: "inclusive" or "exclusive" (see module docstring)."""
    if span_end != "auto":
        return span_end
    fits = {"inclusive": 0, "exclusive": 0}
    checked, uses_idx = 0, False
    for line, rec in records:
        for ent in rec.get("entities") or []:
            start, end, _, text = _entity_fields(ent, path, line)
            uses_idx = uses_idx or "start_idx" in ent
            if text:
                checked += 1
                fits["inclusive"] += rec["text"][start : end + 1] == text
                fits["exclusive"] += rec["text"][start:end] == text
    if checked:
        for convention in ("inclusive", "exclusive"):
            if fits[convention] == checked:
                return convention
        raise DataError(
            f"{path}: entity texts fit neither inclusive ({fits['inclusive']}/{checked}) nor "
            f"exclusive ({fits['exclusive']}/{checked}) span ends; fix the offsets or pass --span-end"
        )
    return "inclusive" if uses_idx else "exclusive"


def read_docs(path: str | Path, span_end: str = "auto") -> tuple[list[Doc], str]:
    """Read CMeEE-style gold data; every span is checked against the text (and its entity text).

    Returns the passages and the span-end convention used ("inclusive" or "exclusive")."""
    records = read_records(path)
    for line, rec in records:
        if not isinstance(rec.get("text"), str) or not rec["text"]:
            raise DataError(f"{where(path, line)}: missing or empty field 'text'")
        if not isinstance(rec.get("entities", []), list):
            raise DataError(f"{where(path, line)}: 'entities' must be a list")
    convention = span_convention(records, path, span_end)
    docs = []
    for line, rec in records:
        text, gold = rec["text"], []
        for ent in rec.get("entities") or []:
            start, end, etype, entity = _entity_fields(ent, path, line)
            end += convention == "inclusive"
            if not 0 <= start < end <= len(text):
                raise DataError(
                    f"{where(path, line)}: span {start}-{end} ({convention} end) lies outside the "
                    f"{len(text)}-character text"
                )
            if entity and text[start:end] != entity:
                raise DataError(
                    f"{where(path, line)}: text[{start}:{end}] is {text[start:end]!r} but the entity "
                    f"is {entity!r} (span ends read as {convention}; see --span-end)"
                )
            gold.append(Span(start, end, etype))
        docs.append(
            Doc(str(rec.get("id", line)), text, sorted(set(gold)), detect_language(text), where(path, line))
        )
    return docs, convention


def type_names(types: list[str], lang: str) -> str:
    """``dis（疾病）、sym（临床表现）`` / ``dis (disease), sym (symptom or sign)`` for the prompt."""
    if lang == "zh":
        return "、".join(f"{t}（{CMEEE_TYPES[t][0]}）" if t in CMEEE_TYPES else t for t in types)
    return ", ".join(f"{t} ({CMEEE_TYPES[t][1]})" if t in CMEEE_TYPES else t for t in types)


def prompt(doc: Doc, types: list[str]) -> list[dict[str, str]]:
    if doc.lang == "zh":
        content = (
            f"请从下面的医学文本中找出所有医学实体。\n实体类型：{type_names(types, 'zh')}。\n"
            "每行输出一个实体，格式为“类型代码: 实体原文”，实体必须是文本中的原文片段；如果没有实体，只输出“无”。\n\n"
            f"文本：{doc.text}"
        )
    else:
        content = (
            f"Find all medical entities in the text below.\nEntity types: {type_names(types, 'en')}.\n"
            "Output one entity per line as `type code: exact text from the passage`; if there are none, "
            f"output only `none`.\n\nText: {doc.text}"
        )
    return [{"role": "user", "content": content}]


def _type_lookup(types: list[str]) -> dict[str, str]:
    """Accepted spellings of each type (code, Chinese name, English name), lower-cased -> code."""
    lookup = {}
    for t in types:
        lookup[t.lower()] = t
        for name in CMEEE_TYPES.get(t, ()):
            lookup[name.lower()] = t
    return lookup


def _pairs_from_json(reply: str) -> list[tuple[str, str]] | None:
    start, end = reply.find("["), reply.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(reply[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list):
        return None
    pairs = []
    for x in data:
        if isinstance(x, dict) and "type" in x and any(k in x for k in ("entity", "text", "span")):
            pairs.append((str(x["type"]), str(x.get("entity", x.get("text", x.get("span"))))))
        elif isinstance(x, list | tuple) and len(x) == 2:
            pairs.append((str(x[0]), str(x[1])))
        else:
            return None
    return pairs


def parse_reply(reply: str, types: list[str], text: str) -> tuple[list[tuple[str, str]], str]:
    """``([(type, entity text)], status)`` from a reply; status is ok, empty or unparseable."""
    reply = reply.strip()
    if not reply:
        return [], "unparseable"  # a blank reply follows no format (it does not say "none")
    if _NONE.match(reply):
        return [], "empty"
    lookup = _type_lookup(types)
    pairs = _pairs_from_json(reply)
    if pairs == []:
        return [], "empty"
    if pairs is None:
        pairs = []
        for raw in reply.splitlines():
            m = re.match(r"^[\s\-*•\d.)、]*([^:：]+?)\s*[:：]\s*(.+)$", raw)
            if m:
                pairs.append((m.group(1), m.group(2)))
    found = []
    for etype, span in pairs:
        code = lookup.get(etype.strip(_STRIP).lower())
        span = span.strip().strip(_STRIP)
        if code is None or not span:
            continue  # a line of prose with a colon, not an entity
        # "dis: 糖尿病、高血压" lists several; split unless the whole string is itself in the passage
        parts = [span] if span in text else [p.strip(_STRIP) for p in re.split(r"[、,，;；]", span)]
        found += [(code, p) for p in parts if p]
    if not found:
        return [], "unparseable"
    return list(dict.fromkeys(found)), "ok"


def locate(pairs: list[tuple[str, str]], text: str) -> tuple[set[Span], list[tuple[str, str]]]:
    """Spans for the predicted texts, and the texts that never occur in the passage.

    A text is placed at every occurrence, except occurrences lying inside a longer predicted span of
    the same type when the text also occurs elsewhere ("肺" predicted together with "肺部" means the
    other "肺")."""
    found: dict[tuple[str, str], list[Span]] = {}
    missing = []
    for etype, entity in pairs:
        at = text.find(entity)
        if at < 0:
            missing.append((etype, entity))
        while at >= 0:
            found.setdefault((etype, entity), []).append(Span(at, at + len(entity), etype))
            at = text.find(entity, at + 1)
    every = [s for spans in found.values() for s in spans]
    located = set()
    for spans in found.values():
        outside = [
            s
            for s in spans
            if not any(
                o.type == s.type
                and o.start <= s.start
                and s.end <= o.end
                and o.end - o.start > s.end - s.start
                for o in every
            )
        ]
        located.update(outside or spans)
    return located, missing


def predict(reply: str, doc: Doc, types: list[str]) -> Prediction:
    pairs, status = parse_reply(reply, types, doc.text)
    spans, missing = locate(pairs, doc.text)
    return Prediction(spans, missing, status)


def _prf(tp_pred: float, n_pred: int, tp_gold: float, n_gold: int) -> dict:
    p = tp_pred / n_pred if n_pred else 0.0
    r = tp_gold / n_gold if n_gold else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "n_pred": n_pred,
        "n_gold": n_gold,
    }


def _counts(golds: list[list[Span]], preds: list[Prediction]) -> dict[str, Counter]:
    """Per type: predictions, gold, strict matches, lenient-matched predictions and gold."""
    c: dict[str, Counter] = {}
    for gold, pred in zip(golds, preds, strict=True):
        gold_set = set(gold)
        for g in gold_set:
            k = c.setdefault(g.type, Counter())
            k["gold"] += 1
            k["strict"] += g in pred.spans
            k["len_gold"] += any(p.type == g.type and p.start < g.end and g.start < p.end for p in pred.spans)
        for p in pred.spans:
            k = c.setdefault(p.type, Counter())
            k["pred"] += 1
            k["len_pred"] += any(g.type == p.type and p.start < g.end and g.start < p.end for g in gold_set)
        for etype, _ in pred.not_in_text:
            c.setdefault(etype, Counter())["pred"] += 1
    return c


def score(golds: list[list[Span]], preds: list[Prediction]) -> dict:
    """Strict and lenient P/R/F1 per type and micro-averaged over all entities.

    Strict: a predicted span counts when the same (start, end, type) is gold. Lenient: a prediction
    counts when it overlaps a gold span of its type, and a gold span is found when some prediction
    of its type overlaps it (each side judged on its own, no one-to-one matching)."""
    counts = _counts(golds, preds)
    total = sum(counts.values(), Counter())
    per_type = {
        t: {
            "strict": _prf(k["strict"], k["pred"], k["strict"], k["gold"]),
            "lenient": _prf(k["len_pred"], k["pred"], k["len_gold"], k["gold"]),
        }
        for t, k in sorted(counts.items())
    }
    return {
        "micro": {
            "strict": _prf(total["strict"], total["pred"], total["strict"], total["gold"]),
            "lenient": _prf(total["len_pred"], total["pred"], total["len_gold"], total["gold"]),
        },
        "per_type": per_type,
    }


def bootstrap_f1(golds, preds, rounds: int = 1000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of micro F1 (strict, lenient), resampling passages."""
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {"strict": [], "lenient": []}
    n = len(golds)
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        s = score([golds[i] for i in idx], [preds[i] for i in idx])["micro"]
        for mode in samples:
            samples[mode].append(s[mode]["f1"])
    out = {}
    for mode, values in samples.items():
        values.sort()
        out[mode] = (values[int(0.025 * (rounds - 1))], values[int(0.975 * (rounds - 1))])
    return out


def render_report(results: dict) -> str:
    s, sc = results["summary"], results["scores"]
    lines = [
        f"# NER evaluation: {results['name']}",
        "",
        f"- model: {results['model']}",
        f"- data: {', '.join(results['data'])} ({results['span_end']} span ends)",
        f"- command: `{results['command']}`",
        "",
        md_table(["metric", "value [95% CI]"], [[k, fmt_ci(v)] for k, v in s.items()]),
        "## Per type",
        "",
    ]
    rows = []
    for t, v in sc["per_type"].items():
        st, le = v["strict"], v["lenient"]
        rows.append(
            [
                t,
                st["n_gold"],
                st["n_pred"],
                st["precision"],
                st["recall"],
                st["f1"],
                le["precision"],
                le["recall"],
                le["f1"],
            ]
        )
    mi = sc["micro"]
    rows.append(
        [
            "micro",
            mi["strict"]["n_gold"],
            mi["strict"]["n_pred"],
            mi["strict"]["precision"],
            mi["strict"]["recall"],
            mi["strict"]["f1"],
            mi["lenient"]["precision"],
            mi["lenient"]["recall"],
            mi["lenient"]["f1"],
        ]
    )
    lines += [
        md_table(
            [
                "type",
                "gold",
                "predicted",
                "strict P",
                "strict R",
                "strict F1",
                "lenient P",
                "lenient R",
                "lenient F1",
            ],
            rows,
        ),
        "![per-type F1](f1.png)",
        "",
    ]
    c = results["replies"]
    lines.append(
        f"Replies: {c['ok']} with entities, {c['empty']} saying there are none, {c['unparseable']} "
        f"unparseable (scored as no predictions); {c['not_in_text']} predicted texts not found in "
        f"the passage (false positives). Bootstrap intervals resample passages (1,000 rounds)."
    )
    return "\n".join(lines) + "\n" + published_section("ner")


class NerTask(runner.Task):
    name = "ner"
    help = "entity extraction on CMeEE-style JSON, strict and lenient F1"
    description = __doc__

    def add_args(self, parser) -> None:
        parser.add_argument("--data", required=True, type=Path, help="CMeEE-style JSON array or JSONL")
        parser.add_argument(
            "--span-end",
            choices=("auto", "inclusive", "exclusive"),
            default="auto",
            help="how end offsets are meant (CMeEE end_idx is inclusive); auto checks entity texts",
        )
        parser.add_argument(
            "--types",
            nargs="+",
            default=None,
            help="entity types to ask for (default: the types in the gold data)",
        )

    def prepare(self, args) -> tuple[list[Doc], list[str], str]:
        docs, convention = read_docs(args.data, args.span_end)
        docs = docs[: args.limit]
        types = args.types or sorted({s.type for d in docs for s in d.gold})
        if not types:
            raise DataError(f"{args.data}: no gold entities, so no entity types to ask for: pass --types")
        return docs, types, convention

    def evaluate(self, run: runner.Run, inputs) -> runner.Evaluation:
        docs, types, convention = inputs
        replies = run.generate([prompt(d, types) for d in docs], "ner replies")
        preds = [predict(r, d, types) for r, d in zip(replies, docs, strict=True)]
        golds = [d.gold for d in docs]
        scores = score(golds, preds)
        ci = bootstrap_f1(golds, preds, seed=run.args.seed)
        summary = {}
        for mode in ("strict", "lenient"):
            m = scores["micro"][mode]
            summary[f"{mode}_f1"] = {
                "value": m["f1"],
                "low": ci[mode][0],
                "high": ci[mode][1],
                "n": len(docs),
            }
            summary[f"{mode}_precision"] = {
                "value": m["precision"],
                "low": None,
                "high": None,
                "n": m["n_pred"],
            }
            summary[f"{mode}_recall"] = {"value": m["recall"], "low": None, "high": None, "n": m["n_gold"]}
        status = Counter(p.status for p in preds)
        summary["unparseable_rate"] = {
            "value": status["unparseable"] / len(docs),
            "low": None,
            "high": None,
            "n": len(docs),
        }
        replies_info = {
            "ok": status["ok"],
            "empty": status["empty"],
            "unparseable": status["unparseable"],
            "not_in_text": sum(len(p.not_in_text) for p in preds),
        }
        items = [
            {
                "id": d.id,
                "source": d.source,
                "text": d.text,
                "reply": r,
                "status": p.status,
                "gold": [[s.start, s.end, s.type, d.text[s.start : s.end]] for s in d.gold],
                "predicted": [[s.start, s.end, s.type, d.text[s.start : s.end]] for s in sorted(p.spans)],
                "not_in_text": p.not_in_text,
            }
            for d, r, p in zip(docs, replies, preds, strict=True)
        ]
        return runner.Evaluation(
            summary=summary,
            headline=["strict_f1", "lenient_f1"],
            items=items,
            details={"scores": scores, "replies": replies_info, "types": types, "span_end": convention},
        )

    def plot(self, results: dict, inputs, out: Path) -> None:
        per_type = results["scores"]["per_type"]
        bar_chart(
            out / "f1.png",
            list(per_type),
            {mode: [{"value": per_type[t][mode]["f1"]} for t in per_type] for mode in ("strict", "lenient")},
            f"{results['name']}: F1 per entity type",
            "F1",
            (0, 1),
        )

    def report(self, results: dict, inputs) -> str:
        return render_report(results)


TASK = NerTask()
