"""Report helpers: Markdown tables, metric formatting, PNG bar charts (matplotlib, Agg backend), and
ChiMed-GPT's and HuatuoGPT-o1's published results as clearly labelled reference rows (FACTS.md;
not measured here)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

log = logging.getLogger("medchat.evaluation")

# ChiMed-GPT-1.0's published numbers (its README; FACTS.md). Shown as reference rows only.
PUBLISHED = {
    "mcq": [
        ("C-Eval", "accuracy", 68.29),
        ("CMMLU", "accuracy", 52.92),
        ("MedQA", "accuracy", 44.50),
    ],
    "ner": [("CCKS-2019", "F1", 40.82), ("ChiMST", "F1", 41.04)],
    "dialogue": [
        ("ChiMed", "BLEU-1", 44.58),
        ("ChiMed", "ROUGE-L", 19.86),
        ("MC (multi-turn)", "BLEU-1", 33.14),
        ("MC (multi-turn)", "ROUGE-L", 42.16),
    ],
}


# HuatuoGPT-o1's published MCQ accuracies (its paper's tables as FACTS.md records them), per
# benchmark as evaluation/exams.py names it ("medqa-en" / "medqa-zh": USMLE / MCMLE). Reference rows only.
PUBLISHED_HUATUO_O1 = {
    "medqa-en": [
        ("HuatuoGPT-o1-8B (complex-CoT SFT + PPO with a verifier)", 72.6),
        ("HuatuoGPT-o1-8B recipe, complex-CoT SFT only", 69.0),
        ("HuatuoGPT-o1-8B recipe, plain MCQ SFT", 60.0),
        ("Qwen2.5-7B-Instruct", 57.0),
    ],
    "medqa-zh": [("HuatuoGPT-o1-7B (MedQA-MCMLE)", 79.8), ("Qwen2.5-7B-Instruct (MedQA-MCMLE)", 71.4)],
    "cmb": [("HuatuoGPT-o1-7B", 73.0), ("Qwen2.5-7B-Instruct", 70.7)],
    "cmexam": [("HuatuoGPT-o1-7B", 74.1), ("Qwen2.5-7B-Instruct", 70.4)],
    "cmmlu": [
        ("HuatuoGPT-o1-7B (CMMLU medical subjects)", 74.5),
        ("Qwen2.5-7B-Instruct (CMMLU medical)", 70.5),
    ],
}


def huatuo_section(benchmarks: list[str]) -> str:
    """HuatuoGPT-o1's published accuracies for the ``benchmarks`` a run read (empty if none)."""
    rows = [[b, model, f"{v:.1f}"] for b in benchmarks for model, v in PUBLISHED_HUATUO_O1.get(b, [])]
    if not rows:
        return ""
    return (
        "\n## Published reference (HuatuoGPT-o1 paper; published numbers, not measured by this run)\n\n"
        "Their test splits, prompts and answer extraction differ from this run's: orientation only.\n\n"
        + md_table(["benchmark", "model (published)", "accuracy %"], rows)
    )


CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS",
)  # fmt: skip


@functools.cache
def _cjk_fonts() -> tuple[str, ...]:
    """The CJK-capable fonts from CJK_FONTS that matplotlib finds on this machine."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(name for name in CJK_FONTS if name in installed)


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in str(text))


@functools.cache
def _warn_no_cjk_font() -> None:
    log.warning(
        "no CJK font found: Chinese labels in the plots will show as boxes. Install one, e.g. "
        "`apt-get install fonts-noto-cjk` (Debian/Ubuntu), and delete matplotlib's font cache "
        "(~/.cache/matplotlib) so it is picked up."
    )


def published_section(task: str) -> str:
    """A Markdown section with ChiMed-GPT's published results for ``task`` (empty if none)."""
    rows = PUBLISHED.get(task)
    if not rows:
        return ""
    return (
        "\n## Published reference (ChiMed-GPT-1.0 README; published numbers, not measured by this run)\n\n"
        "Different data splits, prompts and scoring: use these for orientation, not as a comparison.\n\n"
        + md_table(
            ["benchmark", "metric", "ChiMed-GPT (published)"], [[b, m, f"{v:.2f}"] for b, m, v in rows]
        )
    )


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_ci(metric: dict, digits: int = 3) -> str:
    """``0.512 [0.431, 0.592]`` from a ``{"value", "low", "high"}`` metric."""
    text = fmt(metric.get("value"), digits)
    if metric.get("low") is not None and metric.get("high") is not None:
        text += f" [{metric['low']:.{digits}f}, {metric['high']:.{digits}f}]"
    return text


def md_table(headers: list[str], rows: list[list]) -> str:
    def cell(x) -> str:
        return fmt(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def bar_chart(
    path: Path,
    labels: list[str],
    series: dict[str, list[dict]],
    title: str,
    xlabel: str,
    xlim: tuple[float, float] | None = None,
) -> Path:
    """Horizontal bars with 95% interval whiskers; one bar per label and series (run or method).

    ``series`` maps a legend name to one ``{"value", "low", "high"}`` metric per label."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Chinese labels need a CJK font; without one they show as boxes (warned once, below)
    warnings.filterwarnings("ignore", message="Glyph .* missing from font")

    plt.rcParams["font.sans-serif"] = [*_cjk_fonts(), "DejaVu Sans"]
    if not _cjk_fonts() and any(_has_cjk(label) for label in labels):
        _warn_no_cjk_font()
    n_series = max(1, len(series))
    height = 0.8 / n_series
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(labels) * n_series))
    for k, (name, metrics) in enumerate(series.items()):
        ys = [i + (k - (n_series - 1) / 2) * height for i in range(len(labels))]
        values = [m.get("value") or 0.0 for m in metrics]
        errors = [
            [
                max(0.0, v - m["low"]) if m.get("low") is not None else 0.0
                for v, m in zip(values, metrics, strict=True)
            ],
            [
                max(0.0, m["high"] - v) if m.get("high") is not None else 0.0
                for v, m in zip(values, metrics, strict=True)
            ],
        ]
        ax.barh(ys, values, height=height, xerr=errors, capsize=3, label=name)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if xlim:
        ax.set_xlim(*xlim)
    if len(series) > 1:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
