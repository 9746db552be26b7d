"""The tuning loop: propose (model-guided simulated annealing or random), measure, record, refit.

Two cost models, as in the GPU tuner: the explorer anneals on a model of the loop-nest features (no
compile); with rerank_pool > 1 (off by default, see RERANK_POOL) it proposes rerank_pool x batch points,
those are compiled to machine code (asm_features) and re-ranked by a second model that sees both parts,
and the best batch is measured. Both are refit after every round and both start from a transfer model
of other kernels' records.

Every measurement is committed to the database as soon as it is done, so a killed tuning loses at most
the candidate in flight, and a resumed one never measures a candidate twice. Ctrl-C (or SIGTERM) stops
tuning after the measurement in progress, with everything measured so far in the result (interrupt.py).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from polyopt.search import backend
from polyopt.search.cost_model import RandomCostModel, XGBoostCostModel, XGBParams
from polyopt.search.database import Database, TuningRecord, params_key, versions_json
from polyopt.search.explorer import SAOptions, SimulatedAnnealing, random_batch
from polyopt.search.asm_features import ASM_FEATURE_NAMES
from polyopt.search.ast_worker import AST_TIMEOUT
from polyopt.search.features import FEATURE_VERSION, count_flops, n_features, record_feature_names
from polyopt.search.featurize import Featurizer
from polyopt.search.interrupt import graceful_interrupts, stop_point, stop_requested
from polyopt.search.measure import MeasureOptions, Measurer, MeasureResult, MeasureTask
from polyopt.search.space import SearchSpace

from polyopt.search.tune_args import checked_arguments
from polyopt.model import Scop

log = logging.getLogger(__name__)

BASELINES = ("original", "polly")

# A round proposes 16 points: 16 chains x 8 steps score ~150 candidates (~90 ms each, legality plus the
# loop AST of the features), about as long as measuring the batch; half the chains restart from the
# best measured points each round.
CPU_SA = SAOptions(n_chains=16, n_steps=8, early_stop=4, elite_chains=8)
MIN_ROUND_BUDGET = 2.0      # seconds of annealing a round may always take (see explorer: time budget)
PROPOSE_TIME_FACTOR = 1.0   # default: a round may anneal this many times as long as its batch took to measure
# The explorer proposes this many times the batch and the compiled-code model keeps the best. Off (1) by
# default: at 64 trials it found schedules 3% faster (19 seeded runs, within the spread between seeds)
# for a few % more time (benchmarks/results/search_machine_code_2026-11-27.md). With 1, no machine code
# is compiled for features.
RERANK_POOL = 1


@dataclass(frozen=True)
class Trial:
    """One measured candidate, in measurement order."""

    index: int
    candidate: str            # canonical candidate JSON
    error: int
    seconds: float            # median; inf when error != 0
    gflops: float
    message: str = ""


@dataclass(frozen=True)
class BestCandidate:
    candidate: Any            # polyopt.transforms.Candidate
    candidate_json: str
    seconds: float
    gflops: float


@dataclass(frozen=True)
class TuneResult:
    scop: Scop
    target: str
    params: Mapping[str, int]
    best: BestCandidate | None
    history: tuple[Trial, ...]
    baselines: Mapping[str, float]          # baseline name -> median seconds (inf if it failed)
    flops: float
    interrupted: bool = False
    elapsed: float = 0.0

    def speedup_over(self, baseline_name: str) -> float:
        """Baseline time / best tuned time (nan when either is unknown)."""
        base = self.baselines.get(baseline_name, math.nan)
        if self.best is None or not math.isfinite(base) or not math.isfinite(self.best.seconds):
            return math.nan
        return base / self.best.seconds

    def best_curve(self) -> list[float]:
        """Best-so-far GFLOP/s after each trial."""
        out, best = [], 0.0
        for t in self.history:
            best = max(best, t.gflops)
            out.append(best)
        return out

    @property
    def errors(self) -> int:
        return sum(t.error != 0 for t in self.history)

    def compile(self, threads: int | None = None) -> Any:
        """The best candidate compiled for the tuned sizes (a CudaKernel for target 'cuda')."""
        if self.best is None:
            raise ValueError("tuning measured no successful candidate")
        if self.target == "cuda":
            from polyopt.search.gpu_tune import compile_best

            return compile_best(self.scop, self.params, self.best.candidate_json)
        schedule = backend.apply(self.scop, self.best.candidate)
        return backend.compile_kernel(self.scop, schedule, self.target, self.params, threads)

    def plot(self, path: str) -> None:
        """Best-so-far GFLOP/s versus trials, with the baselines as horizontal lines (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        curve = self.best_curve()
        ax.plot(range(1, len(curve) + 1), curve, label="tuned (best so far)")
        for name, secs in self.baselines.items():
            if math.isfinite(secs) and secs > 0:
                ax.axhline(self.flops / secs / 1e9, ls="--", lw=1, label=name, color="gray" if
                           name == "original" else None)
        ax.set_xlabel("trials")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"{self.scop.name} {dict(self.params)}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


ProgressFn = Callable[[Trial, float], None]


def effective_threads(target: str, threads: int | None) -> int:
    """The thread count a CPU measurement runs with (None: every core, as the backend does); part of the
    record key, so a parallel tuning never reuses serial measurements. GPU targets: 0."""
    if target in ("cuda", "gpu"):
        return 0
    return int(threads) if threads else max(1, os.cpu_count() or 1)


@dataclass
class _State:
    """Mutable bookkeeping of one tuning run (kept private to the tuner)."""

    history: list[Trial] = field(default_factory=list)
    exclude: set[str] = field(default_factory=set)
    points: dict[str, Any] = field(default_factory=dict)   # candidate key -> space point (this session)
    X: list[np.ndarray] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    best_json: str | None = None
    best_secs: float = math.inf


def cpu_model_params(params: XGBParams | None = None) -> XGBParams:
    """Cost model parameters for the CPU features: unless set, the prior is their analytic cycle estimate."""
    from polyopt.search.features import ANALYTIC_COST, feature_names

    p = params or XGBParams()
    return p if p.prior_column is not None else replace(p, prior_column=feature_names().index(ANALYTIC_COST))


@dataclass(frozen=True)
class TuneOptions:
    trials: int = 200
    batch_size: int = 16
    strategy: str = "model"             # "model" | "random"
    seed: int = 0
    transfer: bool = True
    resume: bool = True
    baselines: tuple[str, ...] = BASELINES
    measure: MeasureOptions = field(default_factory=MeasureOptions)
    sa: SAOptions = field(default_factory=lambda: CPU_SA)
    xgb: XGBParams = field(default_factory=XGBParams)
    min_transfer_records: int = 64
    seeds: bool = True                  # model strategy: structured seed points first (search/seeds.py)
    propose_time_factor: float = PROPOSE_TIME_FACTOR   # annealing time per round / the round's measuring time
    rerank_pool: int = RERANK_POOL      # points proposed per measured one, re-ranked on machine code (1: off)
    time_budget: float | None = None    # seconds of tuning; then it stops after the measurement in progress
    ast_timeout: float | None = AST_TIMEOUT   # loop ASTs for features built in a worker, cut after this (s)


class _TimeUp(Exception):
    """The tuning's time budget is spent (raised after a recorded measurement, caught by Tuner.run)."""


class Tuner:
    """One tuning session of (scop, target, params) writing to one database."""

    def __init__(self, scop: Scop, target: str, params: Mapping[str, int], db: Database, options: TuneOptions,
                 *, progress: ProgressFn | None = None, space: SearchSpace | None = None,
                 measurer: Measurer | None = None) -> None:
        self.scop, self.target, self.params = scop, target, dict(params)
        self.db, self.opts, self.progress = db, options, progress
        self.target_fp = backend.target_fingerprint(target)
        self.threads = effective_threads(target, options.measure.threads)
        if self.threads and options.measure.threads != self.threads:
            options = replace(options, measure=replace(options.measure, threads=self.threads))
            self.opts = options
        self.flops = count_flops(scop, self.params)
        self.space = space or SearchSpace(scop, self.params, target=target)
        self.featurizer = Featurizer(scop, self.params, threads=options.measure.threads,
                                     ast_timeout=options.ast_timeout)
        ref = backend.candidate_to_json(backend.candidate_from_json('{"base": "original", "trace": []}'))
        task = MeasureTask(scop, target, tuple(sorted(self.params.items())))
        self.measurer = measurer or Measurer(task, options.measure, reference=ref)
        self.rng = np.random.default_rng(options.seed)
        self.explorer = SimulatedAnnealing(self.space, options=options.sa, seed=options.seed,
                                           should_stop=stop_requested)
        self.model, self.full_model = self._make_models()
        self._asm: dict[str, np.ndarray] = {}
        self.state = _State()
        self._stale: list[tuple[int, TuningRecord]] = []   # resumed records whose features are of another version
        self.baseline_times: dict[str, float] = {}
        self._seeds: list[Any] | None = None
        self._deadline = math.inf           # time.monotonic() when the time budget runs out (set by run)

    # --- model --------------------------------------------------------------------------------------
    def _make_models(self) -> tuple[Any, Any]:
        """(loop-nest model for the explorer, loop-nest + machine-code model for re-ranking)."""
        if self.opts.strategy == "random":
            return RandomCostModel(seed=self.opts.seed), RandomCostModel(seed=self.opts.seed + 1)
        fast, full = self._transfer_models() if self.opts.transfer else (None, None)
        return (XGBoostCostModel(self._xgb(), seed=self.opts.seed, base=fast),
                XGBoostCostModel(self._xgb(), seed=self.opts.seed, base=full))

    def _xgb(self) -> XGBParams:
        return cpu_model_params(self.opts.xgb)

    def _transfer_models(self) -> tuple[XGBoostCostModel | None, XGBoostCostModel | None]:
        """Models trained on this database's records of other workloads (same feature version). Records of
        another feature version are skipped with a warning: after an upgrade that changed the features, their
        vectors mean something else."""
        others = [r for r in self.db.records(target=self.target_fp) if r.workload != self.scop.fingerprint]
        recs = [r for r in others
                if r.feature_version == FEATURE_VERSION and len(r.features) == len(record_feature_names())]
        stale = sum(r.feature_version != FEATURE_VERSION for r in others)
        if stale:
            log.warning("transfer: %d records of other workloads in %s have features of version %s, not the "
                        "current %d, and are not used (tuning one of those workloads again, with resume, updates its "
                        "records without measuring; so does benchmarks/refeaturize.py in polyopt's source tree for "
                        "bundled suite kernels)", stale, self.db.path,
                        ",".join(str(v) for v in sorted({r.feature_version for r in others} - {FEATURE_VERSION})),
                        FEATURE_VERSION)
        if len(recs) < self.opts.min_transfer_records:
            return None, None
        X = np.asarray([r.features for r in recs])
        y = np.asarray([1.0 / r.median if r.ok else 0.0 for r in recs])
        groups = [f"{r.workload}:{r.params}" for r in recs]
        fast = XGBoostCostModel(self._xgb(), seed=self.opts.seed)
        fast.fit(X[:, :n_features()], y, groups)
        full = None
        if self.opts.rerank_pool > 1:       # the re-ranking model is only trained when it is used
            full = XGBoostCostModel(self._xgb(), seed=self.opts.seed)
            full.fit(X, y, groups)
        log.info("transfer: base models from %d records of other workloads", len(recs))
        return fast, full

    def _refit(self) -> None:
        rows = [(x, y) for x, y in zip(self.state.X, self.state.y)
                if x is not None and np.isfinite(x[:n_features()]).all()]
        if len(rows) >= 2 and isinstance(self.model, XGBoostCostModel):
            X = np.asarray([r[0] for r in rows])
            y = np.asarray([r[1] for r in rows])
            self.model.fit(X[:, :n_features()], y, ["task"] * len(rows))
            if self.opts.rerank_pool > 1:   # missing machine code: NaN, xgboost's "missing"
                self.full_model.fit(X, y, ["task"] * len(rows))

    def _features(self, point: Any) -> np.ndarray | None:
        """The feature vector of a legal space point (None when its loop nest cannot be featurized)."""
        return self.featurizer.one(self.space.candidate(point), self.space.key(point), self.space.schedule(point))

    def _compile_features(self, keys: list[str]) -> None:
        """Machine-code features of the candidates not seen yet, compiled in the measurer's build workers
        (isolated: a compiler crash or hang costs that candidate its features, nothing else)."""
        todo = [k for k in dict.fromkeys(keys) if k not in self._asm]
        if self.opts.rerank_pool <= 1:          # re-ranking off: the machine-code part stays missing (NaN)
            self._asm.update((k, np.full(len(ASM_FEATURE_NAMES), np.nan)) for k in todo)
            return
        for k, v in zip(todo, self.measurer.machine_code(todo) if todo else []):
            if v is None:
                log.debug("no machine-code features for %s", k)
            self._asm[k] = v if v is not None else np.full(len(ASM_FEATURE_NAMES), np.nan)

    def _with_machine_code(self, key: str, nest: np.ndarray | None) -> np.ndarray | None:
        """Loop-nest features, then the machine code's (NaN where the candidate did not compile)."""
        if nest is None:
            return None
        self._compile_features([key])
        return np.concatenate([nest, self._asm[key]])

    def _record_features(self, point: Any) -> np.ndarray | None:
        return self._with_machine_code(self.space.key(point), self._features(point))

    def _rerank(self, points: list[Any], n: int) -> list[Any]:
        """The n points the full model ranks best (compiling each); the rest may be proposed again."""
        if len(points) <= n or not getattr(self.full_model, "can_rank", False):
            chosen, rest = points[:n], points[n:]
        else:
            self._compile_features([self.space.key(p) for p in points])
            rows = [self._record_features(p) for p in points]
            X = np.asarray([r if r is not None else np.full(len(record_feature_names()), np.nan) for r in rows])
            scores = np.where(np.isfinite(X[:, :n_features()]).all(axis=1), self.full_model.predict(X), -np.inf)
            order = np.argsort(-scores, kind="stable")
            chosen, rest = [points[i] for i in order[:n]], [points[i] for i in order[n:]]
        for p in rest:
            self.state.exclude.discard(self.space.key(p))
        return chosen

    def _score(self, points: list[Any]) -> np.ndarray:
        X = np.full((len(points), len(self._names())), np.nan)
        for i, p in enumerate(points):
            v = self._features(p) if self.space.is_legal(p) else None
            if v is not None:
                X[i] = v
        out = np.full(len(points), -np.inf)
        ok = np.isfinite(X).all(axis=1)
        if ok.any():
            out[ok] = self.model.predict(X[ok])
        return out

    @staticmethod
    def _names() -> tuple[str, ...]:
        from polyopt.search.features import feature_names

        return feature_names()

    # --- bookkeeping ----------------------------------------------------------------------------------
    def _load_previous(self) -> None:
        """Everything the database already holds for this task: never measured again, used to train. Features
        of another FEATURE_VERSION (recorded before an upgrade: same length, other meaning) are not used as
        they are; _refeaturize_stale computes them again."""
        self._stale = []
        for r in self.db.records(self.scop.fingerprint, self.params, self.target_fp, self.threads):
            self.state.exclude.add(r.candidate)
            if not self.opts.resume:
                continue
            current = r.feature_version == FEATURE_VERSION and bool(r.features)
            if not current:
                self._stale.append((len(self.state.history), r))
            self._note(r.candidate, r.error, r.median, r.error_msg, np.asarray(r.features) if current else None,
                       announce=False)

    def _refeaturize_stale(self) -> None:
        """Features of the current version for the resumed measurements that had another version, written
        back to the database (their times stay), so that they train the model and are not redone next time.
        A candidate the current code cannot build keeps its old record and trains nothing."""
        if not self._stale:
            return
        t0, done = time.perf_counter(), 0
        for index, rec in self._stale:
            stop_point()
            try:
                cand = backend.candidate_from_json(rec.candidate)
                feats = self._with_machine_code(rec.candidate, self.featurizer.one(cand, rec.candidate))
            except Exception as e:  # noqa: BLE001 - that record just does not train the model
                log.debug("cannot refeaturize %s: %s", rec.candidate, e)
                continue
            if feats is None:
                continue
            self.state.X[index] = feats
            self.db.update_features(rec, FEATURE_VERSION, feats)
            done += 1
        log.info("resume: features of version %d computed again for %d of %d earlier measurements (%.1f s)",
                 FEATURE_VERSION, done, len(self._stale), time.perf_counter() - t0)
        self._stale = []

    def _note(self, cand: str, error: int, secs: float, msg: str, feats: np.ndarray | None,
              announce: bool = True) -> Trial:
        st = self.state
        gflops = self.flops / secs / 1e9 if error == 0 and math.isfinite(secs) and secs > 0 else 0.0
        trial = Trial(len(st.history), cand, int(error), secs if error == 0 else math.inf, gflops, msg)
        st.history.append(trial)
        st.X.append(feats if feats is not None and len(feats) == len(record_feature_names()) else None)
        st.y.append(1.0 / secs if error == 0 and math.isfinite(secs) and secs > 0 else 0.0)
        if error == 0 and secs < st.best_secs:
            st.best_secs, st.best_json = secs, cand
        if announce and self.progress is not None:
            self.progress(trial, self.flops / st.best_secs / 1e9 if math.isfinite(st.best_secs) else 0.0)
        stop_point()                        # recorded and noted: a requested stop happens here
        return trial

    def _record(self, cand: str, res: MeasureResult, feats: np.ndarray | None) -> None:
        rec = TuningRecord(self.scop.fingerprint, params_key(self.params), self.target_fp, cand, FEATURE_VERSION,
                           res.times if res.ok else (), int(res.error), res.message, self.opts.seed,
                           versions_json(), time.time(), tuple(feats) if feats is not None else (),
                           self.threads)
        self.db.add(rec)

    # --- rounds ---------------------------------------------------------------------------------------
    def _propose(self, n: int) -> list[Any]:
        seeds = self._take_seeds(n // 2) if self.opts.strategy == "model" and self.opts.seeds else []
        n -= len(seeds)
        cold = len(self.state.history) < 8 and getattr(self.model, "base", None) is None
        if self.opts.strategy == "random" or cold or not getattr(self.model, "can_rank", False):
            return seeds + random_batch(self.space, self.rng, n, self.state.exclude)
        pool = self.explorer.next_batch(self._score, max(1, self.opts.rerank_pool) * n, self.state.exclude,
                                        self._elites())
        return seeds + self._rerank(pool, n)

    def _take_seeds(self, n: int) -> list[Any]:
        """Up to n of the space's seed points (polyopt.search.seeds) not measured yet; computed once."""
        if self._seeds is None:
            from polyopt.search.seeds import seed_points

            self._seeds = seed_points(self.space, self._features, threads=self.threads or 1,
                                      rng=np.random.default_rng(self.opts.seed))
        out = []
        while self._seeds and len(out) < n:
            p = self._seeds.pop(0)
            key = self.space.key(p)
            if key not in self.state.exclude:
                self.state.exclude.add(key)
                out.append(p)
        return out

    def _elites(self) -> list[Any]:
        """Space points of the fastest successful measurements, fastest first."""
        done = sorted((t.seconds, t.candidate) for t in self.state.history if t.error == 0)
        return [self.state.points[c] for _, c in done if c in self.state.points]

    def _measure_points(self, points: list[Any]) -> None:
        points = [p for p in points if self.space.verify(p)]
        cands = [self.space.key(p) for p in points]
        self.state.points.update(zip(cands, points))
        self._compile_features(cands)
        feats = [self._record_features(p) for p in points]

        def done(i: int, res: MeasureResult) -> None:
            self._record(cands[i], res, feats[i])
            self._note(cands[i], int(res.error), res.median, res.message, feats[i])
            if time.monotonic() >= self._deadline:
                raise _TimeUp           # recorded: the rest of the batch is not measured
        self.measurer.measure(cands, on_result=done)

    def _measure_baselines(self) -> None:
        """Baseline candidates (original, polly ...): looked up in the database, else measured once; a spent
        time budget stops them too (the baselines not measured yet stay unknown)."""
        known = {r.candidate: r for r in self.db.records(self.scop.fingerprint, self.params, self.target_fp,
                                                         self.threads)}
        for name in self.opts.baselines:
            try:
                cand = backend.baseline(self.scop, name)
            except Exception as e:  # noqa: BLE001 - a scheduler that fails leaves that baseline unknown
                log.warning("baseline %s unavailable: %s", name, e)
                self.baseline_times[name] = math.inf
                continue
            key = backend.candidate_to_json(cand)
            if key in known:
                self.baseline_times[name] = known[key].median
                if key not in self.state.exclude or not self.opts.resume:
                    self.state.exclude.add(key)
                continue
            feats = self._with_machine_code(key, self.featurizer.one(cand, key))
            res = self.measurer.measure([key], cutoff=False)[0]
            self._record(key, res, feats)
            self.state.exclude.add(key)
            self._note(key, int(res.error), res.median, res.message, feats)
            self.baseline_times[name] = res.median
            if time.monotonic() >= self._deadline:
                raise _TimeUp

    def run(self) -> TuneResult:
        start = time.time()
        if self.opts.time_budget is not None:
            self._deadline = time.monotonic() + self.opts.time_budget
        interrupted = False
        self._load_previous()
        try:
            self._refeaturize_stale()
            self._measure_baselines()
            self._refit()
            while len(self.state.history) < self.opts.trials and time.monotonic() < self._deadline:
                stop_point()
                left = self.opts.trials - len(self.state.history)
                points = self._propose(min(self.opts.batch_size, left))
                stop_point()
                if not points:
                    log.info("search space exhausted")
                    break
                t0 = time.perf_counter()
                self._measure_points(points)
                spent = time.perf_counter() - t0
                left_s = self._deadline - time.monotonic()     # a time budget bounds the next proposal too
                self.explorer.with_time_budget(max(MIN_ROUND_BUDGET,
                                                   min(self.opts.propose_time_factor * spent, left_s)))
                self._refit()
        except _TimeUp:
            log.info("time budget of %g s spent: stopping after %d measurements", self.opts.time_budget,
                     len(self.state.history))
        except KeyboardInterrupt:
            interrupted = True
            log.warning("tuning interrupted: keeping %d measurements", len(self.state.history))
        finally:
            self.measurer.close()
            self.featurizer.close()
        return self._result(interrupted, time.time() - start)

    def _result(self, interrupted: bool, elapsed: float) -> TuneResult:
        st = self.state
        best = None
        if st.best_json is not None:
            best = BestCandidate(backend.candidate_from_json(st.best_json), st.best_json, st.best_secs,
                                 self.flops / st.best_secs / 1e9)
        return TuneResult(self.scop, self.target, dict(self.params), best, tuple(st.history),
                          dict(self.baseline_times), self.flops, interrupted, elapsed)


def tune(scop: Scop, target: str = "cpu", params: Mapping[str, int] | None = None, *, trials: int = 200,
         db: Database | str | None = None, seed: int = 0, strategy: str = "model", batch_size: int = 16,
         transfer: bool = True, timeout: float | None = None, resume: bool = True,
         progress: ProgressFn | None = None, measure_options: MeasureOptions | None = None,
         sa_options: SAOptions | None = None, baselines: tuple[str, ...] = BASELINES,
         threads: int | None = None, gpu_options: Any = None, time_budget: float | None = None,
         seeds: bool = True, model_params: XGBParams | None = None,
         propose_time_factor: float = PROPOSE_TIME_FACTOR, rerank_pool: int = RERANK_POOL) -> TuneResult:
    """Tune a SCoP's schedule for `target` at the given sizes; see TuneResult.

    trials: measurements in total for this task (with resume, those already in the database count).
    threads: CPU threads of the measured kernels (default: every core); part of the record key.
    time_budget: stop tuning after this many seconds, even if fewer than `trials` were measured; everything
    measured is kept. On the CPU the measurement in progress finishes; with "cuda" the batch in progress.
    target "cuda": tunes the GPU mapping on the current CUDA device (polyopt.search.gpu; gpu_options: a
    GpuMeasureOptions); raises BackendUnavailableError at once when pycuda or a GPU is missing.
    batch_size 8 is a good choice there.
    seeds: with strategy "model", measure structured seed points (search/seeds.py) in the first rounds.
    model_params: the CPU cost model's XGBoost settings (default XGBParams(); prior_scale=0: no analytic prior).
    propose_time_factor: a round may anneal this many times as long as measuring its batch took.
    rerank_pool: the explorer proposes this many points per measured one; they are compiled and the
    machine-code model keeps the best (default 1: no re-ranking, the explorer's choice is measured).
    timeout: seconds allowed to build and to run one candidate (default 20). The database (a path or a
    Database; default: the per-user cache) receives every measurement as soon as it is made."""
    target, params = checked_arguments(scop, target, params, strategy=strategy, trials=trials,
                                       batch_size=batch_size, seed=seed, threads=threads,
                                       time_budget=time_budget, timeout=timeout)
    if target == "cuda":
        from polyopt.search.gpu import require_gpu

        require_gpu()           # BackendUnavailableError (with how to get one) before any work
    if target == "cuda":
        return _tune_cuda(scop, params, trials=trials, db=db, seed=seed, strategy=strategy,
                          batch_size=batch_size, transfer=transfer, progress=progress, sa_options=sa_options,
                          gpu_options=gpu_options, time_budget=time_budget)
    mopts = measure_options or MeasureOptions()
    if threads is not None:
        mopts = replace(mopts, threads=int(threads))
    if timeout is not None:
        mopts = replace(mopts, build_timeout=float(timeout), run_timeout=float(timeout))
    opts = TuneOptions(trials=trials, batch_size=batch_size, strategy=strategy, seed=seed, transfer=transfer,
                       resume=resume, baselines=baselines, measure=mopts, sa=sa_options or CPU_SA, seeds=seeds,
                       xgb=model_params or XGBParams(), propose_time_factor=propose_time_factor,
                       rerank_pool=rerank_pool, time_budget=time_budget)
    with _tuning_session(db) as database:
        return Tuner(scop, target, params, database, opts, progress=progress).run()


@contextmanager
def _tuning_session(db: Database | str | None) -> Iterator[Database]:
    """The database to tune into (opened here and closed after, unless the caller passed an open one),
    with Ctrl-C and SIGTERM turned into stop requests (interrupt.graceful_interrupts)."""
    own = not isinstance(db, Database)
    database = db if isinstance(db, Database) else Database(db)
    try:
        with graceful_interrupts():
            yield database
    finally:
        if own:
            database.close()


def _tune_cuda(scop: Scop, params: Mapping[str, int], *, db: Database | str | None, **kw: Any) -> TuneResult:
    from polyopt.search.gpu_tune import tune_cuda

    with _tuning_session(db) as database:
        return tune_cuda(scop, params, db=database, measure_options=kw.pop("gpu_options"), **kw)
