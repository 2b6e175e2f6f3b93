"""Compare evaluation runs (e.g. checkpoints before and after rl): a Markdown table of every summary
metric with its 95% interval, side by side, and a bar chart of each task's headline metrics.

    python -m evaluation compare runs/mcq-sft runs/mcq-rl runs/bias-sft runs/bias-rl --out runs/compare
"""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.data import DataError
from evaluation.report import bar_chart, fmt_ci, md_table


def load_run(run_dir) -> dict:
    """The results.json of an evaluation run folder, with the folder remembered under ``dir``."""
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise DataError(f"{run_dir}: not an evaluation run folder (no results.json)")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
    if "task" not in results or "summary" not in results:
        raise DataError(f"{path}: no 'task'/'summary' fields: not written by python -m evaluation")
    results["dir"] = str(run_dir)
    return results


def _labels(runs: list[dict]) -> list[str]:
    """Run names, made unique (two runs of the same model get their folder name appended)."""
    names = [r["name"] for r in runs]
    return [
        n if names.count(n) == 1 else f"{n} ({Path(r.get('dir', '')).name or 'this run'})"
        for n, r in zip(names, runs, strict=True)
    ]


def comparison_section(runs: list[dict], out: Path, tasks: dict | None = None) -> str:
    """Markdown comparing ``runs`` task by task; writes ``comparison-TASK.png`` into ``out``.
    ``tasks`` (name -> evaluation task) add their own sections through ``task.compare(runs, labels)``."""
    text = []
    for task in dict.fromkeys(r["task"] for r in runs):
        group = [r for r in runs if r["task"] == task]
        labels = _labels(group)
        metrics = list(dict.fromkeys(k for r in group for k in r["summary"]))
        rows = [[m] + [fmt_ci(r["summary"][m]) if m in r["summary"] else "–" for r in group] for m in metrics]
        text += [f"## Comparison: {task}", "", md_table(["metric", *labels], rows)]
        headline = [m for m in group[0].get("headline", []) if all(m in r["summary"] for r in group)]
        if headline:
            plot = out / f"comparison-{task}.png"
            bar_chart(
                plot,
                headline,
                {lab: [r["summary"][m] for m in headline] for lab, r in zip(labels, group, strict=True)},
                f"{task}: runs compared (95% CI)",
                "value",
            )
            text.append(f"![{task} comparison]({plot.name})\n")
        if task in (tasks or {}) and len(group) > 1:
            text.append(tasks[task].compare(group, labels))
    return "\n".join(text)


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="+", type=Path, help="run folders written by python -m evaluation")
    parser.add_argument("--out", type=Path, required=True, help="folder for comparison.md and plots")


def run(args, tasks: dict | None = None) -> Path:
    """Write comparison.md, comparison.json and plots for ``args.runs`` into ``args.out``."""
    runs = [load_run(d) for d in args.runs]
    args.out.mkdir(parents=True, exist_ok=True)
    body = comparison_section(runs, args.out, tasks)
    listing = md_table(
        ["run", "task", "model", "folder", "created"],
        [[r["name"], r["task"], r["model"], r["dir"], r["created"]] for r in runs],
    )
    (args.out / "comparison.md").write_text(
        f"# Evaluation runs compared\n\n{listing}\n{body}", encoding="utf-8"
    )
    summary = {r["dir"]: {"task": r["task"], "name": r["name"], "summary": r["summary"]} for r in runs}
    (args.out / "comparison.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return args.out
