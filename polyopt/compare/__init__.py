"""`polyopt compare`: polyopt's schedules side by side with gcc, GCC Graphite, clang, clang+Polly and
numpy/BLAS, all verified against the reference build and timed in one harness.

    report = compare(["gemm", "lu"], size="SMALL", contenders="gcc,polly,polyopt-polly")
    print(report.to_markdown()); write_report(report, "out/")
"""

from polyopt.compare.api import compare
from polyopt.compare.contenders import ALL_NAMES, GROUPS
from polyopt.compare.html import render_html, write_report
from polyopt.compare.report import ComparisonReport, Measurement, geomean

__all__ = ["ALL_NAMES", "GROUPS", "ComparisonReport", "Measurement", "compare", "geomean", "render_html",
           "write_report"]
