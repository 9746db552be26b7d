"""Every suite kernel through the CUDA backend without a GPU: its generated CUDA compiles with nvcc to sm_90
PTX, and the block/thread mapping, executed on the CPU (blocks and threads as loops, barriers as phase
boundaries), computes what the suite's Python version computes."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from polyopt import kernels as K
from polyopt.codegen.cuda import GpuMapping, compile_cuda, compile_ptx, emulate, original_schedule
from polyopt.frontend.python_frontend import from_python

NVCC = shutil.which("nvcc")
NAMES = K.names()


def _case(name: str):  # type: ignore[no-untyped-def]
    """(scop, params, arrays, scalars) at MINI size on the kernel's own valid inputs."""
    scop = from_python(K.python_function(name))
    size = {"m": 30, "n": 20} if name == "gramschmidt" else "MINI"   # MINI has m < n: a rank-deficient QR
    inputs = K.make_inputs(name, size, seed=0)
    params = {p: int(inputs[p]) for p in scop.params}
    arrays = {a.name: np.array(inputs[a.name], copy=True) for a in scop.array_arguments}
    scalars = {a.name: inputs[a.name] for a in scop.scalar_arguments}
    return scop, params, arrays, scalars


@pytest.mark.parametrize("name", NAMES)
def test_suite_kernel_mapping_emulates_like_its_python_version(name: str) -> None:
    scop, params, arrays, scalars = _case(name)
    ref = {k: v.copy() for k, v in arrays.items()}
    K.python_function(name)(**ref, **scalars, **params)        # the suite's own Python version
    kernel = compile_cuda(scop, original_schedule(scop), params=params, options=GpuMapping())
    got = {k: v.copy() for k, v in arrays.items()}
    emulate(kernel.program, got, scalars, params)
    for array in ref:
        if got[array].dtype.kind == "f":
            tol = 1e-4 if got[array].dtype == np.float32 else 1e-9
            np.testing.assert_allclose(got[array], ref[array], rtol=tol, atol=tol, err_msg=f"{name}: {array}")
        else:
            np.testing.assert_array_equal(got[array], ref[array], err_msg=f"{name}: {array}")


@pytest.mark.skipif(NVCC is None, reason="nvcc not found (CUDA toolkit not installed)")
def test_every_suite_kernel_compiles_with_nvcc_to_sm90(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("POLYOPT_CACHE_DIR", str(tmp_path))
    sources = {}
    for name in NAMES:
        scop, params, _arrays, _scalars = _case(name)
        sources[name] = compile_cuda(scop, original_schedule(scop), params=params, options=GpuMapping()).cuda_source
    with ThreadPoolExecutor(max_workers=2) as pool:
        ptx = dict(zip(sources, pool.map(compile_ptx, sources.values())))
    failed = [n for n, text in ptx.items() if ".entry" not in text or ".target sm_90" not in text]
    assert not failed, failed
