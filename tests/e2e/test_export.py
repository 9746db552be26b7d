"""Export a kernel (.so and .o with a header) and call it from a C program compiled with gcc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from polyopt.codegen.api import compile as compile_kernel

MAIN = r"""
#include <stdio.h>
#include <math.h>
#include "gemm.h"
int main(void) {
  enum { NI = 23, NJ = 19, NK = 17 };
  static double C[NI * NJ], A[NI * NK], B[NK * NJ], R[NI * NJ];
  for (int i = 0; i < NI * NK; i++) A[i] = (i % 7) * 0.25;
  for (int i = 0; i < NK * NJ; i++) B[i] = (i % 5) * 0.5 - 1.0;
  for (int i = 0; i < NI * NJ; i++) C[i] = R[i] = (i % 3) * 1.0;
  for (int i = 0; i < NI; i++) for (int j = 0; j < NJ; j++) {
    double s = R[i * NJ + j] * 0.5;
    for (int k = 0; k < NK; k++) s += 1.5 * A[i * NK + k] * B[k * NJ + j];
    R[i * NJ + j] = s;
  }
  KERNEL(NI, NJ, NK, 1.5, 0.5, C, A, B);
  double err = 0;
  for (int i = 0; i < NI * NJ; i++) err = fmax(err, fabs(C[i] - R[i]));
  printf("maxerr %g\n", err);
  return err < 1e-9 ? 0 : 1;
}
"""


def _gemm_scop():  # type: ignore[no-untyped-def]
    from polyopt import kernels
    from polyopt.frontend.c_frontend import from_c
    return from_c(kernels.c_source("gemm"))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("target", ["cpu", "c"])
@pytest.mark.parametrize("suffix", [".so", ".o"])
def test_exported_kernel_runs_from_c(tmp_path: Path, target: str, suffix: str) -> None:
    scop = _gemm_scop()
    kernel = compile_kernel(scop, "polly", target, options={"entry_name": "gemm_kernel"})
    lib = kernel.export(tmp_path / f"gemm{suffix}")
    header = (tmp_path / "gemm.h").read_text()
    assert "void gemm_kernel(long ni, long nj, long nk, double alpha, double beta" in header
    (tmp_path / "main.c").write_text(MAIN.replace("KERNEL", "gemm_kernel"))
    exe = tmp_path / "main"
    link = [str(lib)] + (["-Wl,-rpath," + str(tmp_path)] if suffix == ".so" else ["-lgomp", "-lm"])
    subprocess.run(["gcc", "-O1", "-I", str(tmp_path), str(tmp_path / "main.c"), *link, "-lm", "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "maxerr" in out.stdout
