"""The compare harness's child processes: a contender that times out is killed with everything it started."""

import os
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from polyopt.compare.contenders import Contender, Settings
from polyopt.compare.harness import measure
from polyopt.compare.workload import suite_workload


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:         # a zombie waiting for its (init) parent is gone too
        return f.read().split(")")[-1].split()[0] != "Z"


def test_a_timed_out_contender_is_killed_with_the_processes_it_started(tmp_path: Path) -> None:
    """As the tuner's worker pools: a grandchild the contender started must not outlive the timeout."""
    pid_file = tmp_path / "grandchild.pid"

    def prepare(w, s):  # type: ignore[no-untyped-def]
        grandchild = subprocess.Popen(["sleep", "300"])
        pid_file.write_text(str(grandchild.pid))
        time.sleep(300)

    hanging = Contender("hangs", "starts a worker, then hangs", "polyopt", prepare)
    w = suite_workload("gemm", "MINI")
    t0 = time.monotonic()
    m = measure(hanging, w, w.fresh(), Settings(), timeout_s=2.0)
    assert m.status == "timeout" and time.monotonic() - t0 < 30
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the contender's worker process outlived its timeout"


def _nothing() -> None:
    pass


def test_the_tuned_contender_runs_after_this_process_started_a_forkserver(tmp_path: Path) -> None:
    """A script that tuned (the tuner's worker pools start a forkserver) and then compares: the forked
    child must start worker pools of its own (it failed with "No child processes")."""
    import multiprocessing

    from polyopt.compare import compare

    p = multiprocessing.get_context("forkserver").Process(target=_nothing)
    p.start()
    p.join()
    r = compare(["gemm"], "MINI", "polyopt-tuned", repeats=1, trials=2, db=tmp_path / "t.db")
    m = r.get("gemm", "polyopt-tuned")
    assert m.status == "ok", m.note


def test_a_tuned_contender_that_cannot_finish_its_trials_stops_in_time_to_be_measured(tmp_path: Path) -> None:
    """With more trials than the timeout allows, the tuned contender ends its tuning on the budget
    (tuning_budget: here half the 30 s timeout) and is measured with the best it found, instead of being
    killed at the timeout with nothing."""
    from polyopt.compare import compare
    from polyopt.compare.api import tuning_budget

    assert tuning_budget(20.0, 10.0) == 10.0 and tuning_budget(300.0, 60.0) == 150.0
    assert tuning_budget(None, 60.0) is None
    start = time.monotonic()
    r = compare(["gemm"], "MINI", "polyopt-tuned", repeats=1, trials=100000, db=tmp_path / "t.db",
                timeout_s=30.0, max_seconds=10.0)
    m = r.get("gemm", "polyopt-tuned")
    assert m.status == "ok", m.note
    assert "tuning budget of 15 s ran out" in m.note
    assert time.monotonic() - start < 30.0


def test_a_folder_named_like_a_bundled_kernel_does_not_hide_the_kernel(tmp_path: Path, monkeypatch) -> None:
    """`polyopt compare --kernels gemm --out gemm` run twice: the second run found the output folder
    ./gemm and reported 'no such file: gemm' instead of comparing the bundled kernel."""
    from polyopt.compare import compare

    monkeypatch.chdir(tmp_path)
    (tmp_path / "gemm").mkdir()
    r = compare(["gemm"], "MINI", "polyopt-original", repeats=1)
    assert r.get("gemm", "polyopt-original").status == "ok"


def test_contenders_are_timed_in_interleaved_rounds_and_a_crash_mid_timing_is_reported(tmp_path: Path) -> None:
    """Side by side: after building and checking, one run of each contender per round (so a slow
    minute of a shared machine falls on all of them alike); a contender whose process dies in a timed
    run is 'crashed' and the others still get all their repeats."""
    from polyopt.compare.contenders import contender

    log_file = tmp_path / "order.log"
    original = contender("polyopt-original")

    def logged(name: str, crash_on_run: int | None = None) -> Contender:
        def prepare(w, s):  # type: ignore[no-untyped-def]
            prepared = original.prepare(w, s)
            count = [0]

            def run(values):  # type: ignore[no-untyped-def]
                count[0] += 1
                with open(log_file, "a") as f:
                    f.write(name + "\n")
                if crash_on_run is not None and count[0] == crash_on_run:
                    os._exit(3)
                prepared.run(values)
            return replace(prepared, run=run)
        return Contender(name, name, "polyopt", prepare)

    w = suite_workload("gemm", "MINI")
    from polyopt.compare.harness import measure_side_by_side
    a, b, c = measure_side_by_side([logged("a"), logged("b"), logged("c", crash_on_run=3)], w,
                                   _reference(w), Settings(repeats=3, warmup=1), timeout_s=60.0)
    assert a.status == b.status == "ok" and len(a.times) == len(b.times) == 3
    assert c.status == "crashed" and "status 3" in c.note
    runs = log_file.read_text().split()
    # build+check (the first run) of each, one after the other, then rounds of a, b (and c, until it dies)
    assert runs == ["a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b"]


def _reference(w):  # type: ignore[no-untyped-def]
    from polyopt.compare.workload import reference_outputs
    return reference_outputs(w, None, "c")


def test_a_contender_that_hangs_in_a_timed_run_times_out_and_the_others_are_measured(tmp_path: Path) -> None:
    from polyopt.compare.contenders import contender
    from polyopt.compare.harness import measure_side_by_side

    original = contender("polyopt-original")

    def hangs_later(w, s):  # type: ignore[no-untyped-def]
        prepared = original.prepare(w, s)
        count = [0]

        def run(values):  # type: ignore[no-untyped-def]
            count[0] += 1
            if count[0] == 2:
                time.sleep(300)
            prepared.run(values)
        return replace(prepared, run=run)

    w = suite_workload("gemm", "MINI")
    t0 = time.monotonic()
    hung, fine = measure_side_by_side([Contender("hangs", "hangs", "polyopt", hangs_later), original], w,
                                      _reference(w), Settings(repeats=3), timeout_s=3.0)
    assert hung.status == "timeout" and "timed run 1" in hung.note
    assert fine.status == "ok" and len(fine.times) == 3
    assert time.monotonic() - t0 < 60
