"""The tuning loop for target="cuda" (see polyopt.search.gpu for the space, features and measurement).

Per round: simulated annealing over the GPU mapping knobs, scored by a model of the analytic features
(cheap: no build), proposes 2 x batch points; those are built (CUDA C -> PTX -> ptxas), points that cannot
launch are dropped, the rest are re-ranked by a second model that also sees the build's features
(registers, spills, shared memory, occupancy), and the best `batch` are measured. Both models are refit
after every round; every measurement is committed to the database at once (feature_version
GPU_FEATURE_VERSION, threads 0, target "cuda:<GPU>:<sm_XY>:gputime").
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from polyopt.search.cost_model import RandomCostModel, XGBoostCostModel, XGBParams
from polyopt.search.database import Database, TuningRecord, params_key, versions_json
from polyopt.search.explorer import SAOptions, SimulatedAnnealing, random_batch
from polyopt.search.gpu import (
    GPU_FEATURE_VERSION,
    Built,
    GpuMeasureOptions,
    GpuMeasurer,
    GpuSpace,
    build,
    candidate_json,
    compile_point,
    gpu_feature_names,
    gpu_target_fingerprint,
    launch_check,
    mapping_from_json,
    require_gpu,
)
from polyopt.search.interrupt import stop_point, stop_requested
from polyopt.search.measure import MeasureErrorNo, MeasureResult

from polyopt.model import Scop

log = logging.getLogger(__name__)

N_ANALYTIC = len(gpu_feature_names()) - 8        # the columns known without building (see gpu._BUILT)


def tune_cuda(scop: Scop, params: Mapping[str, int], *, trials: int, db: Database, seed: int = 0,
              strategy: str = "model", batch_size: int = 8, transfer: bool = True,
              progress: Callable[[Any, float], None] | None = None, sa_options: SAOptions | None = None,
              measure_options: GpuMeasureOptions | None = None, inputs: Any = None,
              time_budget: float | None = None, flops: float | None = None,
              build_workers: int | None = None) -> Any:
    """Tune the GPU mapping of a SCoP on the current CUDA device; returns a tuner.TuneResult whose
    baselines hold 'default' (GpuMapping()'s kernel). Raises BackendUnavailableError without a GPU."""
    from polyopt.search.tuner import BestCandidate, Trial, TuneResult

    name, arch = require_gpu()                      # first: fail early and clearly without a GPU
    build_workers = build_workers or max(1, min(8, (os.cpu_count() or 1) - 1))
    start = time.time()
    target = gpu_target_fingerprint(name, arch)
    from polyopt.search.features import count_flops

    total_flops = flops if flops is not None else count_flops(scop, params)
    space = GpuSpace(scop, params, arch=arch)
    rng = np.random.default_rng(seed)
    sa = SimulatedAnnealing(space, options=sa_options or SAOptions(n_chains=32, n_steps=40, early_stop=10,
                                                                   elite_chains=8), seed=seed,
                            should_stop=stop_requested)
    wl, pk = scop.fingerprint, params_key(params)
    history: list[Trial] = []
    X: list[np.ndarray] = []
    y: list[float] = []
    exclude = {r.candidate for r in db.records(wl, pk, target, 0)}
    seeds = [p for p in space.seed_points() if space.key(p) not in exclude]
    points: dict[str, Any] = {}                 # measured key -> space point (elites for the explorer)
    best: tuple[float, str] | None = None
    interrupted = False

    def note(key: str, res: MeasureResult, feats: np.ndarray) -> None:
        nonlocal best
        db.add(TuningRecord(wl, pk, target, key, GPU_FEATURE_VERSION, res.times if res.ok else (),
                            int(res.error), res.message, seed, versions_json(), time.time(), tuple(feats), 0))
        secs = res.median
        gflops = total_flops / secs / 1e9 if res.ok and secs > 0 else 0.0
        history.append(Trial(len(history), key, int(res.error), secs, gflops, res.message))
        X.append(feats)
        y.append(1.0 / secs if res.ok and secs > 0 else 0.0)
        if res.ok and (best is None or secs < best[0]):
            best = (secs, key)
        if progress is not None:
            progress(history[-1], total_flops / best[0] / 1e9 if best else 0.0)
        stop_point()                    # recorded: a requested stop (Ctrl-C, SIGTERM) happens here

    # the baseline (codegen's default mapping) is also the reference of every output check
    from polyopt.codegen.cuda import GpuMapping, compile_cuda, original_schedule

    ref = compile_cuda(scop, original_schedule(scop), params=dict(params), options=GpuMapping(), arch=arch)
    ref_key = candidate_json(GpuMapping())
    if not ref.can_launch()[0]:
        ref_key = space.key(space.default_point())
        ref = build(space, space.default_point()).kernel
    measurer = GpuMeasurer(scop, params, ref, measure_options or GpuMeasureOptions(), inputs)
    baselines: dict[str, float] = {}
    models = _Models(strategy, seed, db, target, wl, transfer)
    try:
        res = measurer.measure(ref)
        note(ref_key, res, np.full(len(gpu_feature_names()), np.nan))
        exclude.add(ref_key)
        baselines["default"] = res.median
        if res.error == MeasureErrorNo.RUN_TIMEOUT:
            log.error("GPU tuning stopped: the default mapping's kernel timed out: %s", res.message)
            trials = 0
        while len(history) < trials and (time_budget is None or time.time() - start < time_budget):
            n = min(batch_size, trials - len(history))
            elites = [points[k] for _, k in sorted((t.seconds, t.candidate) for t in history if t.error == 0)
                      if k in points]
            picked = _propose(space, sa, models, rng, n, exclude, build_workers, seeds=seeds[:n], elites=elites)
            stop_point()
            seeds = seeds[n:]
            if not picked:
                break
            stuck = False
            for key, point, built, feats in picked:      # a built batch is measured whole (fast on a GPU)
                points[key] = point
                res = measurer.measure(built.kernel)
                note(key, res, feats)
                if res.error == MeasureErrorNo.RUN_TIMEOUT:
                    log.error("GPU tuning stopped: %s", res.message)
                    stuck = True
                    break
            if stuck:
                break
            models.refit(X, y)
    except KeyboardInterrupt:
        interrupted = True
        log.warning("GPU tuning interrupted: keeping %d measurements", len(history))
    bc = None
    if best is not None:
        bc = BestCandidate(mapping_from_json(best[1]), best[1], best[0], total_flops / best[0] / 1e9)
    return TuneResult(scop, "cuda", dict(params), bc, tuple(history), baselines, total_flops, interrupted,
                      time.time() - start)


class _Models:
    """The analytic-feature model (explorer) and the full-feature model (re-ranking built points)."""

    def __init__(self, strategy: str, seed: int, db: Database, target: str, workload: str,
                 transfer: bool) -> None:
        self.random = strategy == "random"
        if self.random:
            self.fast: Any = RandomCostModel(seed=seed)
            self.full: Any = RandomCostModel(seed=seed + 1)
            return
        params = XGBParams()
        base_a = base_f = None
        if transfer:
            recs = [r for r in db.records(target=target) if r.workload != workload and r.features
                    and r.feature_version == GPU_FEATURE_VERSION]
            if len(recs) >= 32:
                Xo = np.asarray([r.features for r in recs])
                yo = np.asarray([1.0 / r.median if r.ok else 0.0 for r in recs])
                g = [r.workload for r in recs]
                base_a, base_f = XGBoostCostModel(params, seed=seed), XGBoostCostModel(params, seed=seed)
                base_a.fit(Xo[:, :N_ANALYTIC], yo, g)
                base_f.fit(Xo, yo, g)
        self.fast = XGBoostCostModel(params, seed=seed, base=base_a)
        self.full = XGBoostCostModel(params, seed=seed, base=base_f)

    @property
    def ready(self) -> bool:
        return self.random or self.fast.fitted or getattr(self.fast, "base", None) is not None

    def refit(self, X: list[np.ndarray], y: list[float]) -> None:
        if self.random or len(X) < 4:
            return
        A = np.asarray(X)
        keep = np.isfinite(A[:, 0])
        if keep.sum() < 4:
            return
        g = ["task"] * int(keep.sum())
        self.fast.fit(A[keep][:, :N_ANALYTIC], np.asarray(y)[keep], g)
        self.full.fit(A[keep], np.asarray(y)[keep], g)


def _propose(space: GpuSpace, sa: SimulatedAnnealing, models: _Models, rng: np.random.Generator, n: int,
             exclude: set[str], build_workers: int = 1, seeds: list[Any] | None = None,
             elites: list[Any] | None = None) -> list[tuple[str, Any, Built, np.ndarray]]:
    """n built, launchable, unmeasured points: SA on the analytic model (chains restarted from the
    elites), re-ranked by the full model. Seed points (GpuSpace.seed_points) that launch go first,
    whatever the models say (a round of n seeds has no other points); with strategy "random" they are
    not used."""
    pool_n = 2 * n
    forced: list[Any] = []
    if seeds and not models.random:
        for p in seeds:
            k = space.key(p)
            if k not in exclude:
                exclude.add(k)
                forced.append(p)
    if len(forced) >= n:          # a round of seeds only: they build fast and are measured at once
        pool_n = len(forced)
    if pool_n == len(forced):
        pool = forced
    elif models.ready and not models.random:
        def score(points: Any) -> np.ndarray:
            return models.fast.predict(np.asarray([space.features(p)[:N_ANALYTIC] for p in points]))
        pool = forced + sa.next_batch(score, max(0, pool_n - len(forced)), exclude, elites or ())
    else:
        pool = forced + random_batch(space, rng, max(0, pool_n - len(forced)), exclude)
    built: list[tuple[str, Any, Built, np.ndarray]] = []

    kernels: list[Any] = []
    for p in pool:        # isl is not thread-safe: mapping and CUDA C generation stay in this thread
        try:
            kernels.append(compile_point(space, p))
        except Exception as e:  # noqa: BLE001 - a mapping that does not compile is left out
            kernels.append(e)

    def finish(k: Any) -> Built | Exception:
        if isinstance(k, Exception):
            return k
        try:
            return launch_check(k)
        except Exception as e:  # noqa: BLE001
            return e
    if build_workers > 1 and len(pool) > 1:
        # nvcc / ptxas are subprocesses; one job per distinct CUDA source (the PTX file cache is keyed by
        # the source, so two threads must never write the same entry)
        unique = list({k.cuda_source: k for k in kernels if not isinstance(k, Exception)}.values())
        with cf.ThreadPoolExecutor(max_workers=build_workers) as ex:
            list(ex.map(finish, unique))
    results = [finish(k) for k in kernels]     # cached by now when run in parallel above
    for p, b in zip(pool, results):
        key = space.key(p)
        if isinstance(b, Exception):
            log.info("GPU candidate %s does not build: %s", key, b)
            continue
        if not b.launchable:
            log.debug("GPU candidate %s cannot launch: %s", key, b.why)
            continue
        built.append((key, p, b, space.features(p, b)))
    if not built:
        return []
    scores = models.full.predict(np.asarray([f for *_, f in built])) if (models.random or
                                                                         models.full.fitted) else \
        np.asarray([-i for i in range(len(built))], dtype=float)
    forced_keys = {space.key(p) for p in forced}
    scores = np.where([key in forced_keys for key, *_ in built], np.inf, scores)
    order = np.argsort(-np.asarray(scores), kind="stable")
    chosen = [built[i] for i in order[:n]]
    for i in order[n:]:                       # not measured this round: may be proposed again later
        exclude.discard(built[i][0])
    return chosen


def compile_best(scop: Scop, params: Mapping[str, int], candidate_json_text: str) -> Any:
    """The CudaKernel of a tuned GPU candidate."""
    from polyopt.codegen.cuda import compile_cuda, original_schedule

    return compile_cuda(scop, original_schedule(scop), params=dict(params),
                        options=mapping_from_json(candidate_json_text))
