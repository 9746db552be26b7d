"""PNG figures of a comparison (matplotlib, Agg backend): per-kernel speedup bars and tuning curves."""

from __future__ import annotations

import math
from pathlib import Path

from polyopt.compare.report import ComparisonReport


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def speedup_bars(report: ComparisonReport, path: Path, baseline: str = "gcc") -> Path | None:
    """Grouped bars: speedup over `baseline` per kernel and contender (log scale)."""
    cols = [c for c in report.contenders if c != baseline
            and any(report.speedup(k, c, baseline) for k in report.kernels)]
    if not cols or not report.kernels:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(report.kernels) * max(1, len(cols)) / 4), 4.5))
    width = 0.8 / len(cols)
    for j, c in enumerate(cols):
        xs = [i + (j - (len(cols) - 1) / 2) * width for i in range(len(report.kernels))]
        ys = [report.speedup(k, c, baseline) or 0.0 for k in report.kernels]
        ax.bar(xs, ys, width, label=c)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(report.kernels)))
    ax.set_xticklabels(report.kernels, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel(f"speedup over {report.labels.get(baseline, baseline)}")
    ax.set_title(f"size {report.size}, {report.threads} thread(s)")
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def tuning_curves(report: ComparisonReport, path: Path) -> Path | None:
    """Best-so-far time per trial of every tuned contender (one line per kernel and contender)."""
    series = [(m.kernel, m.contender, m.history) for m in report.measurements if m.history]
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kernel, name, history in series:
        best, ys = math.inf, []
        for t in history:
            best = min(best, t)
            ys.append(best * 1e3 if math.isfinite(best) else math.nan)
        ax.plot(range(1, len(ys) + 1), ys, label=f"{kernel} {name}")
        polly = report.get(kernel, "polly")
        if polly is not None and polly.ok:
            ax.axhline(polly.median * 1e3, linestyle=":", linewidth=0.8, color="gray")
    ax.set_xlabel("trial")
    ax.set_ylabel("best time so far (ms)")
    ax.set_yscale("log")
    ax.set_title("tuning curves (dotted: clang+Polly)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
