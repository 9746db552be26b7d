"""Split reductions (split-K) on the GPU: the outermost sequential '+' member runs in parts on a grid
dimension and the partial sums meet in atomicAdd. Checked by CPU emulation against the reference, by
nvcc, and for the errors that refuse a split that would be wrong."""

from __future__ import annotations

import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from polyopt.codegen.cuda import GpuMapping, check_mapping, compile_cuda, compile_ptx, original_schedule
from polyopt.codegen.cuda.mapping import map_to_gpu

from polyopt.dataflow import dependences
from polyopt.errors import CodegenError, IllegalTransformError
from polyopt.legality import mark_violations

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
import cuda_scops as S
import gpu_check as G

NVCC = shutil.which("nvcc")


def _conv_ref(W, inp, s, HO, K):
    out = np.zeros((W.shape[0], HO, HO), np.float64)
    for y in range(HO):
        for x in range(HO):
            out[:, y, x] = np.einsum("fcij,cij->f", W.astype(np.float64),
                                     inp[:, y * s:y * s + K, x * s:x * s + K].astype(np.float64))
    return out


@pytest.mark.parametrize("opts", [
    GpuMapping(tile=(6, 6, 4), threads=(3, 6, 2), seq_tile=2, split=3),     # x fits one tile: x runs parts
    GpuMapping(tile=(8, 8, 8), threads=(4, 4, 2), seq_tile=4, split=2),     # y and x fit: x runs parts
    GpuMapping(tile=(6, 6, 4), threads=(6, 6, 1), seq_tile=0, split=4, private=True),
])
def test_split_conv_emulation_matches_reference(opts):
    F, Cin, HO, K, s = 8, 7, 6, 3, 1
    scop, HP = G.conv(F, Cin, HO, K, s)
    rng = np.random.default_rng(3)
    W = rng.random((F, Cin, K, K)).astype(np.float32)
    inp = rng.random((Cin, HP, HP)).astype(np.float32)
    start = rng.random((F, HO, HO)).astype(np.float32)
    if opts.seq_tile == 0:
        with pytest.raises(CodegenError, match="registers"):
            compile_cuda(scop, original_schedule(scop), params={}, options=opts)
        return
    k = compile_cuda(scop, original_schedule(scop), params={}, options=opts)
    cfg = k.launch_config({})[0]
    assert max(cfg.grid) > 1 and cfg.grid.count(1) < 3
    out = start.copy()
    k.emulate(out=out, W=W, inp=inp)       # the emulator's race check accepts atomic-atomic updates only
    np.testing.assert_allclose(out, start + _conv_ref(W, inp, s, HO, K), rtol=1e-5)
    assert "atomicAdd(&out[" in k.cuda_source


@pytest.mark.parametrize("n", [9, 16])
@pytest.mark.parametrize("split", [2, 3])
def test_split_gemm_uses_the_free_grid_dimension(n, split):
    scop = S.gemm_acc(S.DType.FLOAT64)
    rng = np.random.default_rng(n)
    A, B, C = (rng.random((n, n)) for _ in range(3))
    k = compile_cuda(scop, original_schedule(scop), params={"N": n},
                     options=GpuMapping(tile=(8, 8), threads=(4, 4), seq_tile=2, split=split))
    grid = k.launch_config({"N": n})[0].grid
    length = math.ceil(math.ceil(n / split) / 2) * 2       # n / split, rounded up to the k-tile (2)
    assert grid[2] == math.ceil(n / length)
    got = C.copy()
    k.emulate(N=n, C=got, A=A, B=B)
    np.testing.assert_allclose(got, C + A @ B, rtol=1e-12)


def test_split_mark_is_checked_as_a_reduction_only():
    """The parts loop may carry the '+' reduction's own dependences, nothing else."""
    scop = S.gemm_acc(S.DType.FLOAT64)
    mapped = map_to_gpu(scop, original_schedule(scop), None,
                        GpuMapping(tile=(8, 8), threads=(4, 4), seq_tile=2, split=2), params={"N": 16})
    check_mapping(scop, mapped)
    assert not mark_violations(scop, mapped, dependences(scop))
    assert "gpu:split.z" in str(mapped)


def test_split_refused_when_it_would_be_wrong():
    gemm = S.gemm()            # C = beta*C; C += alpha*A*B: the k band is below a sequence, no seq member
    with pytest.raises(CodegenError, match="cannot split"):
        compile_cuda(gemm, original_schedule(gemm), params={"N": 8},
                     options=GpuMapping(tile=(4, 4), threads=(4, 4), seq_tile=2, split=2))
    acc = S.gemm_acc(S.DType.FLOAT64)
    with pytest.raises(CodegenError, match="not constant"):          # size-generic: no part length
        compile_cuda(acc, original_schedule(acc), params=None,
                     options=GpuMapping(tile=(4, 4), threads=(4, 4), seq_tile=2, split=2))
    with pytest.raises(CodegenError, match="registers"):
        compile_cuda(acc, original_schedule(acc), params={"N": 8},
                     options=GpuMapping(tile=(4, 4), threads=(4, 4), seq_tile=2, split=2, private=False))
    conv, _hp = G.conv(8, 4, 12, 3, 1)
    with pytest.raises(CodegenError, match="grid dimensions"):    # x, y, f all need several tiles
        compile_cuda(conv, original_schedule(conv), params={},
                     options=GpuMapping(tile=(4, 4, 4), threads=(4, 4, 2), seq_tile=2, split=2))
    with pytest.raises(ValueError, match="split"):
        GpuMapping(split=0)


def test_split_of_a_non_sum_reduction_is_illegal():
    """A max-reduction cannot meet in atomicAdd: the legality check rejects a hand-made split mark."""
    from polyopt.builder import build_scop
    from polyopt.expr import Access, Binary, Compare, Const, DType, Var
    from polyopt.frontend.tree import Argument, ArrayDecl, Assign, KernelSource, Loop
    V = Var
    m = Access("m", (V("i"),))
    src = KernelSource("rowmax", (Argument("m", "array", DType.FLOAT32), Argument("A", "array", DType.FLOAT32)),
                       (ArrayDecl("m", DType.FLOAT32, (Const(8),)), ArrayDecl("A", DType.FLOAT32, (Const(8), Const(8)))),
                       (Loop("i", Const(0), Compare("<", V("i"), Const(8)), 1, (
                           Loop("j", Const(0), Compare("<", V("j"), Const(8)), 1, (
                               Assign(m, Binary("max", m, Access("A", (V("i"), V("j"))))),)),)),))
    scop = build_scop(src)
    with pytest.raises(CodegenError, match="'\\+' reduction"):
        compile_cuda(scop, original_schedule(scop), params={},
                     options=GpuMapping(tile=(8,), threads=(8,), seq_tile=2, split=2))
    import islpy as isl
    bad = isl.Schedule(str(original_schedule(scop)))
    node = bad.get_root().child(0).child(0)          # the j band
    node = node.insert_mark(isl.Id("gpu:split.x"))
    with pytest.raises(IllegalTransformError):
        check_mapping(scop, node.get_schedule())
    assert mark_violations(scop, node.get_schedule(), dependences(scop))     # the legality module agrees


def test_split_keeps_keys_of_unsplit_mappings():
    assert "split" not in GpuMapping().to_dict()
    assert GpuMapping(split=4).to_dict()["split"] == 4


@pytest.mark.skipif(NVCC is None, reason="nvcc not found (CUDA toolkit not installed)")
@pytest.mark.parametrize("dt", [S.DType.FLOAT32, S.DType.FLOAT64])
def test_split_kernels_compile_with_nvcc(dt):
    scop = S.gemm_acc(dt)
    k = compile_cuda(scop, original_schedule(scop), params={"N": 256},
                     options=GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=8, split=4))
    ptx = compile_ptx(k.cuda_source, k.arch)
    assert re.search(r"red\.global\.add\.f(32|64)|atom\.global\.add\.f(32|64)", ptx)
    conv, _hp = G.conv(256, 256, 14, 3, 1)
    kc = compile_cuda(conv, original_schedule(conv), params={},
                      options=GpuMapping(tile=(14, 14, 16), threads=(7, 7, 4), seq_tile=8, split=8))
    assert kc.launch_config({})[0].grid == (8, 1, 16)
    ok, why = kc.can_launch()
    assert ok, why


def test_seed_mappings_of_a_small_conv_emulate_correctly():
    """The GPU search's conv seeds (register tiles over x, y and output channels; split-K variants)
    compute the convolution: CPU emulation with race checks, against the reference."""
    from polyopt.search.gpu import GpuSpace
    F, Cin, HO, K, s = 8, 16, 7, 3, 1
    scop, HP = G.conv(F, Cin, HO, K, s)
    space = GpuSpace(scop, {})
    assert space.can_split
    maps = [space.mapping(p) for p in space.seed_points()]
    assert any(m.split > 1 for m in maps) and any(m.split == 1 for m in maps)
    rng = np.random.default_rng(5)
    W = rng.random((F, Cin, K, K)).astype(np.float32)
    inp = rng.random((Cin, HP, HP)).astype(np.float32)
    want = _conv_ref(W, inp, s, HO, K)
    for m in maps[:4]:
        k = compile_cuda(scop, original_schedule(scop), params={}, options=m)
        out = np.zeros((F, HO, HO), np.float32)
        k.emulate(out=out, W=W, inp=inp)
        np.testing.assert_allclose(out, want, rtol=1e-5, err_msg=str(m))


@pytest.mark.gpu
@pytest.mark.parametrize("dt", [S.DType.FLOAT32, S.DType.FLOAT64])
def test_split_gemm_on_gpu(dt):
    import importlib.util

    from polyopt.codegen.cuda import gpu_available
    if importlib.util.find_spec("pycuda") is None or not gpu_available():
        pytest.skip("needs pycuda and a CUDA device")
    n = 200
    scop = S.gemm_acc(dt)
    k = compile_cuda(scop, original_schedule(scop), params={"N": n},
                     options=GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=8, split=5))
    rng = np.random.default_rng(0)
    npdt = np.float32 if dt == S.DType.FLOAT32 else np.float64
    A, B, C = (rng.random((n, n)).astype(npdt) for _ in range(3))
    want = C.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    k(n, C=C, A=A, B=B)
    np.testing.assert_allclose(C, want, rtol=1e-4 if npdt == np.float32 else 1e-12)
