"""The result of a comparison: per (kernel, contender) measurements, speedups with geometric means over
gcc -O3 and over clang+Polly, and the table as markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("ok", "skipped", "build-failed", "error", "wrong", "crashed", "timeout")
"""ok: verified and timed. skipped: does not apply (note says why). build-failed / error: failed to build
or to run. wrong: ran but the outputs differ from the reference (never timed). crashed / timeout: the
measuring process died or hung."""

BASELINES = ("gcc", "polly")


@dataclass(frozen=True)
class Measurement:
    """One contender on one kernel."""

    kernel: str
    contender: str
    status: str
    times: tuple[float, ...] = ()
    note: str = ""
    max_error: float | None = None
    schedule: str = ""
    code: str = ""
    code_language: str = ""
    history: tuple[float, ...] = ()
    build_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.times)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.ok else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["times"], d["history"] = list(self.times), [_finite(t) for t in self.history]
        return d

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Measurement:
        d = dict(d)
        d["times"] = tuple(float(t) for t in d.get("times", ()))
        d["history"] = tuple(float("inf") if t is None else float(t) for t in d.get("history", ()))
        return Measurement(**d)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def geomean(values: Iterable[float]) -> float | None:
    """Geometric mean of positive finite values (None when there are none)."""
    xs = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(v) for v in xs) / len(xs))


@dataclass(frozen=True)
class ComparisonReport:
    """Every measurement of a comparison plus how it was run."""

    size: str
    threads: int
    repeats: int
    trials: int
    kernels: tuple[str, ...]
    contenders: tuple[str, ...]
    labels: Mapping[str, str]
    measurements: tuple[Measurement, ...]
    flops: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    machine: Mapping[str, str] = field(default_factory=dict)

    def get(self, kernel: str, contender: str) -> Measurement | None:
        for m in self.measurements:
            if m.kernel == kernel and m.contender == contender:
                return m
        return None

    def speedup(self, kernel: str, contender: str, baseline: str = "gcc") -> float | None:
        """Baseline median time / contender median time (None unless both verified and timed)."""
        m, b = self.get(kernel, contender), self.get(kernel, baseline)
        if m is None or b is None or not m.ok or not b.ok:
            return None
        return b.median / m.median  # type: ignore[operator]

    def geomean(self, contender: str, baseline: str = "gcc") -> float | None:
        return geomean(self.speedup(k, contender, baseline) for k in self.kernels)

    def gflops(self, kernel: str, contender: str) -> float | None:
        m = self.get(kernel, contender)
        f = self.flops.get(kernel)
        return f / m.median / 1e9 if m is not None and m.ok and f else None

    # ------------------------------------------------------------------------------------ output

    def to_markdown(self) -> str:
        """Times (ms) and speedups over gcc -O3 per kernel, geometric means over gcc -O3 and clang+Polly."""
        cols = self.contenders
        out = [f"polyopt compare: size {self.size}, {self.threads} thread(s), median of {self.repeats}"
               + (f", {self.trials} tuning trials" if self.trials else ""), "",
               "| kernel | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
        for k in self.kernels:
            out.append(f"| {k} | " + " | ".join(self._cell(k, c) for c in cols) + " |")
        for base in BASELINES:
            if base in cols:
                cells = [_fmt_x(self.geomean(c, base)) for c in cols]
                out.append(f"| **geomean vs {base}** | " + " | ".join(cells) + " |")
        out += ["", "Cells: median time in ms (speedup over gcc -O3). Contenders:"]
        out += [f"- `{c}`: {self.labels.get(c, c)}" for c in cols]
        notes = self.problem_notes()
        if notes:
            out += ["", "Notes:"] + [f"- {n}" for n in notes]
        return "\n".join(out) + "\n"

    def _cell(self, kernel: str, contender: str) -> str:
        m = self.get(kernel, contender)
        if m is None:
            return "-"
        if not m.ok:
            return {"wrong": "WRONG", "build-failed": "build failed"}.get(m.status, m.status)
        s = self.speedup(kernel, contender, "gcc")
        return f"{m.median * 1e3:.3g}" + (f" ({s:.2f}x)" if s is not None else "")

    def problem_notes(self) -> list[str]:
        """One line per contender that was not verified and timed somewhere, deduplicated."""
        seen: dict[str, list[str]] = {}
        for m in self.measurements:
            if m.ok and not m.note:
                continue
            line = f"`{m.contender}` {m.status}: {m.note.splitlines()[0] if m.note else ''}".rstrip(": ")
            seen.setdefault(line, []).append(m.kernel)
        return [*self.notes, *(f"{line} ({', '.join(ks)})" for line, ks in seen.items())]

    def to_csv(self) -> str:
        """Long format: one row per (kernel, contender), then one geomean row per contender."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["kernel", "contender", "status", "median_s", "min_s", "repeats", "speedup_vs_gcc",
                    "speedup_vs_polly", "gflops", "max_error", "note"])
        for k in self.kernels:
            for c in self.contenders:
                m = self.get(k, c)
                if m is None:
                    continue
                w.writerow([k, c, m.status, _num(m.median), _num(min(m.times) if m.ok else None),
                            len(m.times), _num(self.speedup(k, c, "gcc")), _num(self.speedup(k, c, "polly")),
                            _num(self.gflops(k, c)), _num(m.max_error), m.note.splitlines()[0] if m.note else ""])
        for c in self.contenders:
            w.writerow(["geomean", c, "", "", "", "", _num(self.geomean(c, "gcc")),
                        _num(self.geomean(c, "polly")), "", "", ""])
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "size": self.size, "threads": self.threads, "repeats": self.repeats,
                "trials": self.trials, "kernels": list(self.kernels), "contenders": list(self.contenders),
                "labels": dict(self.labels), "flops": dict(self.flops), "notes": list(self.notes),
                "machine": dict(self.machine),
                "geomean": {b: {c: self.geomean(c, b) for c in self.contenders} for b in BASELINES},
                "measurements": [m.to_dict() for m in self.measurements]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> ComparisonReport:
        return ComparisonReport(d["size"], int(d["threads"]), int(d["repeats"]), int(d["trials"]),
                                tuple(d["kernels"]), tuple(d["contenders"]), dict(d["labels"]),
                                tuple(Measurement.from_dict(m) for m in d["measurements"]),
                                dict(d.get("flops", {})), tuple(d.get("notes", ())), dict(d.get("machine", {})))


def _fmt_x(x: float | None) -> str:
    return "-" if x is None else f"**{x:.2f}x**"


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"
