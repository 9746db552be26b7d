"""GPU tuning without a GPU: early, clear BackendUnavailableError; the GPU mapping space gives legal,
launchable mappings whose kernels compute the right thing (checked with the CPU emulator, tiny sizes)."""

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from polyopt.codegen.cuda import emulate, gpu_available, original_schedule
from polyopt.codegen.loop_ast import build_loop_ast
from polyopt.interpret import run_loop_program
from polyopt.search.gpu import GpuSpace, build, gpu_feature_names, mapping_from_json

from polyopt.errors import BackendUnavailableError

sys.path.insert(0, str(Path(__file__).parent))
import cuda_scops as S

PTXAS = shutil.which("ptxas") and shutil.which("nvcc")
no_gpu = pytest.mark.skipif(gpu_available(), reason="a GPU is present here")


@no_gpu
def test_tune_cuda_without_gpu_raises_early_and_clearly(tmp_path):
    import polyopt

    t0 = time.time()
    with pytest.raises(BackendUnavailableError) as e:
        polyopt.tune(S.gemm_acc(), target="cuda", params={"N": 64}, trials=4, db=str(tmp_path / "t.db"))
    assert time.time() - t0 < 10
    assert "pycuda" in str(e.value) or "CUDA device" in str(e.value)
    assert "pip install" in str(e.value)
    assert not (tmp_path / "t.db").exists()          # nothing was done before the check


@no_gpu
def test_cli_tune_target_device_cuda_without_gpu(tmp_path, capsys):
    from polyopt.cli import main

    rc = main(["tune", "suite:gemm", "--size", "MINI", "--target-device", "cuda", "--trials", "2",
               "--db", str(tmp_path / "t.db"), "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and "pycuda" in err


def _reference(scop, params, arrays):
    ref = {k: v.copy() for k, v in arrays.items()}
    run_loop_program(build_loop_ast(scop, original_schedule(scop), params), ref, {})
    return ref


@pytest.mark.parametrize("case", ["gemm", "conv"])
def test_sampled_gpu_mappings_are_legal_launchable_and_correct(case):
    if case == "gemm":
        scop, params = S.gemm_acc(), {"N": 24}
    else:
        sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
        import gpu_check as G
        scop, _ = G.conv(8, 3, 6, 3, 1)
        params = {}
    space = GpuSpace(scop, params)
    assert 1 <= space.n_dims <= 3 and space.size > 100
    rng = np.random.default_rng(3)
    arrays = {a.name: rng.random(tuple(int(d.value) if hasattr(d, "value") else params[d.name]
                                       for d in a.shape)).astype(np.float32 if case == "conv" else np.float64)
              for a in scop.array_arguments}
    ref = _reference(scop, params, arrays)
    seen = set()
    checked = 0
    while checked < 4:
        p = space.sample(rng)
        key = space.key(p)
        if key in seen:
            continue
        seen.add(key)
        assert space.is_legal(p)
        m = space.mapping(p)
        assert 32 <= int(np.prod(m.threads[:space.n_dims])) <= 1024 or int(np.prod(space.extents)) < 32
        assert mapping_from_json(key) == m                       # the record key round-trips
        if PTXAS:
            b = build(space, p)                                  # CUDA C -> PTX -> ptxas resources
            if not b.launchable:
                continue
            assert b.resources and all(r.registers > 0 for r in b.resources.values())
            f = space.features(p, b)
            assert f.shape == (len(gpu_feature_names()),) and np.isfinite(f).all()
            kernel = b.kernel
        else:
            from polyopt.codegen.cuda import compile_cuda
            kernel = compile_cuda(scop, original_schedule(scop), params=params, options=m)
        got = {k: v.copy() for k, v in arrays.items()}
        emulate(kernel.program, got, {}, params)
        for name in ref:
            tol = 1e-4 if ref[name].dtype == np.float32 else 1e-10
            np.testing.assert_allclose(got[name], ref[name], rtol=tol, atol=tol, err_msg=f"{name} {m}")
        checked += 1
    assert np.isnan(space.features(p)[-8:]).all()                # unbuilt: the build's features are missing


def test_gpu_tuning_loop_with_an_emulated_device(tmp_path, monkeypatch):
    """The whole GPU tuning loop (SA over mappings, builds, launch filter, checks, records, refits), with
    the device replaced by the CPU emulator: needs nvcc/ptxas for the resources, no GPU."""
    if not PTXAS:
        pytest.skip("needs nvcc and ptxas")
    import polyopt.search.gpu_tune as gt
    from polyopt.codegen.cuda import CudaKernel
    from polyopt.search import gpu
    from polyopt.search.database import Database

    import polyopt

    fake = lambda: ("Fake GPU", "sm_90")
    monkeypatch.setattr(gpu, "require_gpu", fake)
    monkeypatch.setattr(gt, "require_gpu", fake)

    def call(self, *args, timeout=None, **kwargs):
        self.emulate(*args, check_races=False, **kwargs)

    def bench(self, *args, repeat=5, warmup=1, timeout=None, **kwargs):
        kw = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        t0 = time.perf_counter()
        self.emulate(*args, check_races=False, **kw)
        return [time.perf_counter() - t0] * repeat
    monkeypatch.setattr(CudaKernel, "__call__", call)
    monkeypatch.setattr(CudaKernel, "benchmark", bench)
    db = tmp_path / "g.db"
    res = polyopt.tune(S.gemm_acc(), target="cuda", params={"N": 16}, trials=10, batch_size=4, db=str(db),
                       transfer=False)
    assert len(res.history) == 10 and res.errors == 0 and res.best is not None
    assert set(res.baselines) == {"default"}
    recs = Database(db).records()
    assert len(recs) == 10 and {r.target for r in recs} == {"cuda:Fake_GPU:sm_90:gputime"}
    assert all(len(r.features) == len(gpu_feature_names()) for r in recs)
    assert all(np.isfinite(r.features).all() for r in recs[1:])       # built: ptxas features present
    kernel = res.compile()
    assert kernel.options == mapping_from_json(res.best.candidate_json)


def test_seed_points_hold_the_best_hand_picked_sgemm_mapping():
    """The GPU search measures register-tiled seed mappings first; at 4096 they include the mapping that
    gave 34.3 TFLOP/s (69% of cuBLAS) on the H200: 128x128 tiles, 16x16 threads (8x8 per thread), k-tile
    8, shared tiles, vector loads. Small problems get only seeds that fit their extents."""
    from polyopt.codegen.cuda import GpuMapping

    space = GpuSpace(S.gemm(), {"N": 4096})
    seeds = space.seed_points()
    assert seeds and all(space.is_legal(p) for p in seeds)
    maps = [space.mapping(p) for p in seeds]
    good = GpuMapping(tile=(128, 128), threads=(16, 16), seq_tile=8)
    assert any((m.tile[:2], m.threads[:2], m.seq_tile, m.shared, m.vector_loads)
               == (good.tile[:2], good.threads[:2], 8, True, True) for m in maps), maps
    assert len({space.key(p) for p in seeds}) == len(seeds)
    small = GpuSpace(S.gemm(), {"N": 40})
    assert all(t <= 40 for p in small.seed_points() for t in small.mapping(p).tile[:2])


def test_wait_for_raises_when_a_kernel_outlives_its_time_limit():
    from polyopt.codegen.cuda.host import wait_for

    from polyopt.errors import KernelTimeoutError

    class Event:
        def __init__(self, done_after):
            self.polls, self.done_after, self.synced = 0, done_after, False

        def query(self):
            self.polls += 1
            return self.polls > self.done_after

        def synchronize(self):
            self.synced = True

    now = [0.0]
    clock = lambda: now[0]

    def sleep(dt):
        now[0] += dt
    hung = Event(done_after=10 ** 9)
    with pytest.raises(KernelTimeoutError, match="did not finish within 2 s"):
        wait_for(hung, 2.0, "conv_k0", poll=0.1, clock=clock, sleep=sleep)
    assert 15 <= hung.polls <= 25                        # ~2 s of 0.1 s polls, then it gave up
    quick = Event(done_after=3)
    wait_for(quick, 2.0, poll=0.1, clock=clock, sleep=sleep)
    assert quick.polls == 4
    untimed = Event(done_after=0)
    wait_for(untimed, None)
    assert untimed.synced and untimed.polls == 0


def test_gpu_tuning_stops_at_a_kernel_that_times_out(tmp_path, monkeypatch):
    """A candidate that runs past GpuMeasureOptions.run_timeout is recorded as RUN_TIMEOUT and tuning
    stops there (the device may still be busy), keeping everything measured before it."""
    if not PTXAS:
        pytest.skip("needs nvcc and ptxas")
    import polyopt.search.gpu_tune as gt
    from polyopt.codegen.cuda import CudaKernel
    from polyopt.search import gpu
    from polyopt.search.database import Database
    from polyopt.search.measure import MeasureErrorNo

    import polyopt
    from polyopt.errors import KernelTimeoutError

    fake = lambda: ("Fake GPU", "sm_90")
    monkeypatch.setattr(gpu, "require_gpu", fake)
    monkeypatch.setattr(gt, "require_gpu", fake)
    timed = []

    def call(self, *args, timeout=None, **kwargs):
        self.emulate(*args, check_races=False, **kwargs)

    def bench(self, *args, repeat=5, warmup=1, timeout=None, **kwargs):
        timed.append(self)
        if len(timed) == 3:                                  # the second candidate after the default
            raise KernelTimeoutError(f"conv_k0 did not finish within {timeout:g} s on the GPU")
        return [0.1] * repeat                                # past min_time: one benchmark call each
    monkeypatch.setattr(CudaKernel, "__call__", call)
    monkeypatch.setattr(CudaKernel, "benchmark", bench)
    db = tmp_path / "g.db"
    res = polyopt.tune(S.gemm_acc(), target="cuda", params={"N": 16}, trials=10, batch_size=4, db=str(db),
                       transfer=False)
    assert [t.error for t in res.history] == [0, 0, int(MeasureErrorNo.RUN_TIMEOUT)]
    recs = Database(db).records()
    assert len(recs) == 3 and recs[-1].error == MeasureErrorNo.RUN_TIMEOUT and "10 s" in recs[-1].error_msg
