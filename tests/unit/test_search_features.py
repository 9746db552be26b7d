import json

import numpy as np
import pytest

from polyopt.search import backend
from polyopt.search.features import FEATURE_VERSION, extract, feature_names, n_features
from polyopt.search.testing import gemm
from polyopt.transforms import Candidate, Join, Parallel, Permute, Tile, Unroll, Vectorize

P = {"NI": 64, "NJ": 48, "NK": 40}


def feats(cand, scop=None):
    scop = scop or gemm()
    return extract(backend.loop_program(scop, cand.apply(scop), P))


def test_fixed_length_named_versioned():
    v = feats(Candidate("original"))
    assert v.shape == (n_features(),) == (len(feature_names()),)
    assert len(set(feature_names())) == n_features()
    assert isinstance(FEATURE_VERSION, int) and np.isfinite(v).all()


def test_identical_nests_identical_features():
    j = (Join((0,)), Join((0,)))
    a = feats(Candidate("original", j + (Tile((0,), (16, 16, 8)),)))
    b = feats(Candidate("original", j + (Tile((0,), (16, 16, 8)),)), gemm())   # rebuilt scop, same nest
    assert np.array_equal(a, b)


def test_different_nests_different_features():
    j = (Join((0,)), Join((0,)))
    cands = [Candidate("original"), Candidate("original", j + (Permute((0,), (0, 2, 1)),)),
             Candidate("original", j + (Tile((0,), (16, 16, 8)),)),
             Candidate("original", j + (Tile((0,), (32, 16, 8)),)),
             Candidate("original", j + (Tile((0,), (16, 16, 8)), Parallel((0,), 0))),
             Candidate("original", j + (Vectorize((0,), 1),))]
    vs = [feats(c) for c in cands]
    for i in range(len(vs)):
        for k in range(i + 1, len(vs)):
            assert not np.array_equal(vs[i], vs[k]), (cands[i], cands[k])


def test_structure_cache_gives_the_features_of_a_fresh_loop_ast():
    """Candidates that differ only in marks reuse one generated loop AST, re-annotated; the features
    must equal those of the loop AST generated for the candidate itself."""
    import numpy as np

    from polyopt.search import backend
    from polyopt.search.features import extract
    from polyopt.search.featurize import Featurizer
    from polyopt.search.space import SearchSpace
    from polyopt.search.testing import gemm

    scop, P = gemm(), {"NI": 40, "NJ": 48, "NK": 36}
    space = SearchSpace(scop, P)
    fz = Featurizer(scop, P)
    rng = np.random.default_rng(5)
    p = space.sample(rng)
    names = [k.name for k in space.bases[p[0]].knobs]
    marks_only = [j for j, n in enumerate(names) if n.split(".")[-1] in ("vec", "reassoc", "unroll", "parallel")]
    points = [p]
    for _ in range(40):
        b, vals = points[-1]
        j = marks_only[int(rng.integers(len(marks_only)))]
        choices = space.bases[b].knobs[j].choices
        q = (b, vals[:j] + (choices[int(rng.integers(len(choices)))],) + vals[j + 1:])
        if space.is_legal(q):
            points.append(q)
    for q in points:
        got = fz.one(space.candidate(q), space.key(q), space.schedule(q))
        want = extract(backend.loop_program(scop, space.schedule(q), P))
        np.testing.assert_allclose(got, want, err_msg=str(space.describe(q)))
    assert fz.n_reused > 0


def _value(v, name):
    return float(v[feature_names().index(name)])


def test_levels_are_listed_innermost_first():
    """Row L0 is the innermost loop whatever the depth: the test gemm (i, j, k) has k innermost, where
    B[k][j] strides by NJ; interchanged to (i, k, j), j is innermost and every access has stride 0 or 1."""
    v = feats(Candidate("original"))
    assert _value(v, "L0.extent") == np.log2(P["NK"] + 1)
    assert _value(v, "L0.level") == 0.0
    assert _value(v, "total.inner_unit_stride") == 0.0
    swapped = feats(Candidate("original", (Join((0,)), Join((0,)), Permute((0,), (0, 2, 1)))))
    assert _value(swapped, "L0.extent") == np.log2(P["NJ"] + 1)
    assert _value(swapped, "total.inner_unit_stride") == 1.0


def test_cache_traffic_estimate_drops_with_tiling_when_data_exceeds_the_cache(monkeypatch):
    """With an L1 far smaller than the arrays, tiling gemm cuts the estimated L1 traffic per flop."""
    from polyopt.search import features as F

    monkeypatch.setattr(F, "cache_sizes", lambda: (4096.0, 16384.0, 65536.0))
    j = (Join((0,)), Join((0,)))
    plain = feats(Candidate("original", j))
    tiled = feats(Candidate("original", j + (Tile((0,), (8, 8, 8)),)))
    assert _value(tiled, "total.traffic_l1_per_flop") < _value(plain, "total.traffic_l1_per_flop")
    assert F.traffic.__doc__


def test_traffic_is_the_working_set_of_the_outermost_fitting_iteration():
    from polyopt.search.features import traffic
    from polyopt.search.loopinfo import Leaf, LoopLevel

    leaf = Leaf(call=None, loops=(LoopLevel(None, 10.0, 0.0), LoopLevel(None, 20.0, 0.0)), env=())  # type: ignore[arg-type]
    ws = [1e6, 5e4, 100.0]                  # whole nest, one iteration of loop 0, of loop 1
    new = [5e4, 100.0]                      # what one more iteration of loop 0, of loop 1 adds
    assert traffic(leaf, ws, new, 2e6) == 1e6            # everything fits: compulsory traffic
    assert traffic(leaf, ws, new, 1.1e5) == 10 * 5e4     # two iterations of loop 0 fit
    assert traffic(leaf, ws, new, 6e4) == 10 * 20 * 100.0  # one does, two don't: loop 1 (no sharing)
    assert traffic(leaf, ws, new, 1e2) == 200 * 100.0    # nothing fits: the body's data every time
    shared = [1e4, 25.0]                    # neighbouring iterations share most of their data
    assert traffic(leaf, ws, shared, 6e4) == 5e4 + 9 * 1e4
    assert traffic(leaf, ws, shared, 1e3) == 10 * (100.0 + 19 * 25.0)


def test_stepping_along_a_row_adds_an_eighth_of_a_line_per_row():
    """syrk's source order (i, k, j): one k iteration reads A[j][k] down a column (600 rows, one line
    each); the next k reads the same lines but for every eighth step. The window model charges about
    600/8 new lines per k step, where the per-iteration model charged all 600 again."""
    from polyopt.cli.common import load_scop
    from polyopt import expr as X
    from polyopt.search.features import _step_lines, dominant_site
    from polyopt.search.loopinfo import dim_coefficients, leaves

    scop = load_scop("suite:syrk")
    prog = backend.loop_program(scop, Candidate("original").apply(scop), {"m": 600, "n": 600})
    main = dominant_site(prog, list(leaves(prog)))
    _, value = prog.instance(main.call)
    inner = main.loops[2].loop.iterator
    column = [a for a in X.accesses(value) if a.array == "A" and dim_coefficients(a, inner, dict(main.env))[0]]
    assert len(main.loops) == 3 and len(column) == 1
    k = 1                                                        # loops: i, k, j
    added = _step_lines(column[0], (600, 600), 8, main, dict(main.env), k)
    rows = main.loops[2].extent
    assert added == pytest.approx(rows / 8)


def _raw(v, name):
    x = _value(v, name)
    return float(np.sign(x) * (2 ** abs(x) - 1))


def test_register_block_of_a_blis_micro_kernel():
    """polly's BLIS recipe on gemm: the micro-kernel unrolls i and vectorizes j under k, so per k step
    it keeps a block of accumulators in registers and loads few operands per flop; the source order
    has one accumulator-free load pair per multiply-add."""
    from polyopt.schedulers import schedule

    scop = gemm()
    big = {"NI": 256, "NJ": 256, "NK": 256}
    blis = extract(backend.loop_program(scop, backend.apply(scop, schedule(scop, "polly")), big))
    plain = extract(backend.loop_program(scop, Candidate("original").apply(scop), big))
    assert _raw(blis, "total.reg_flops_per_load") >= 8 and _raw(blis, "total.reg_accumulators") >= 4
    assert _raw(blis, "total.reg_block") >= 16
    assert _raw(plain, "total.reg_flops_per_load") <= 2 and _raw(plain, "total.reg_block") == 1



def test_short_inner_loop_unrolls_away_before_vectorization():
    """gemm (i, j, k) with k tiled by 4 inside: LLVM fully unrolls the 4-long point loop, so the loop it
    vectorizes is the k tile loop (a reduction into C), and the inner-loop features describe that loop."""
    from polyopt.search.inner_loop import effective_inner
    from polyopt.search.loopinfo import leaves

    j = (Join((0,)), Join((0,)))
    scop = gemm()
    prog = backend.loop_program(scop, Candidate("original", j + (Tile((0,), (1, 1, 4)),)).apply(scop), P)
    main = max(leaves(prog), key=lambda lf: lf.instances)
    assert main.loops[-1].extent == 4
    k = effective_inner(prog, main)
    assert k == len(main.loops) - 2 and main.loops[k].extent == P["NK"] // 4
    names = feature_names()
    v = feats(Candidate("original", j + (Tile((0,), (1, 1, 4)),)))
    assert v[names.index("total.inner_reduction")] == 1.0
    assert v[names.index("total.inner_extent")] == np.log2(P["NK"] // 4 + 1)


def _overhead(cand, scop=None):
    from polyopt.search.features import dominant_site, loop_overhead
    from polyopt.search.loopinfo import leaves

    scop = scop or gemm()
    prog = backend.loop_program(scop, cand.apply(scop), P)
    return loop_overhead(prog, dominant_site(prog, list(leaves(prog))))


def test_loop_overhead_counts_entries_branches_and_bound_operations_per_flop():
    """Untransformed gemm: loops entered 1 + NI + NI*NJ times, NI + NI*NJ + NI*NJ*NK loop-back branches,
    no min/max in the bounds. Tiles that do not divide the extents add min() bounds; unrolling the
    innermost loop by 4 removes three quarters of its branches."""
    from polyopt.search.loopinfo import body_flops

    scop = gemm()
    ni, nj, nk = P["NI"], P["NJ"], P["NK"]
    stmt = max(scop.statements, key=lambda s: len(s.iterators))
    flops = ni * nj * nk * body_flops(stmt.value)
    entries, branches, bound_ops = _overhead(Candidate("original"))
    assert entries == pytest.approx(1000 * (1 + ni + ni * nj) / flops)
    assert branches == pytest.approx(1000 * (ni + ni * nj + ni * nj * nk) / flops)
    assert bound_ops == 0
    j = (Join((0,)), Join((0,)))
    assert _overhead(Candidate("original", j + (Tile((0,), (16, 16, 12)),)))[2] > 0
    unrolled = _overhead(Candidate("original", j + (Unroll((0,), 2, 4),)))[1]
    assert unrolled == pytest.approx(1000 * (ni + ni * nj + ni * nj * nk / 4) / flops)


def test_totals_average_the_heavy_statements_of_a_kernel_with_two_products():
    """2mm computes tmp = A.B, then D = tmp.C: two nests of equal work. isl's schedule runs the second
    product in (i, k, j) order (unit-stride inner loop, vectorizable) and the first in (i, j, k) (a
    reduction inner loop): the totals describe both nests, weighted by their flops (3 per instance of
    tmp += alpha*A*B, 2 of D += tmp*C), not whichever one is listed first."""
    from polyopt.cli.common import load_scop
    from polyopt.search.features import heavy_sites
    from polyopt.search.loopinfo import leaves

    scop = load_scop("suite:2mm")
    sizes = {"ni": 32, "nj": 32, "nk": 32, "nl": 32}

    def program(base):
        return backend.loop_program(scop, Candidate(base).apply(scop), sizes)
    assert len(heavy_sites(program("original"), list(leaves(program("original"))))) == 2
    assert _raw(extract(program("original")), "total.inner_vectorizable") == 0.0
    assert _raw(extract(program("isl")), "total.inner_vectorizable") == pytest.approx(2 / 5)


def _suite_features(kernel, cand, sizes):
    from polyopt.cli.common import load_scop

    scop = load_scop(f"suite:{kernel}")
    return extract(backend.loop_program(scop, cand.apply(scop), sizes))


def test_reassoc_mark_on_an_outer_loop_lets_the_inner_reduction_vectorize():
    """The LLVM backend puts reassoc flags on all arithmetic inside a vectorize:reassoc loop, nested
    loops included: syrk in (j, i, k) order with i marked vectorize:reassoc runs its k reduction (unit
    stride) vectorized. Without reassoc that reduction stays scalar."""
    sizes = {"m": 64, "n": 64}

    def cand(reassoc):
        return Candidate("pluto", (Permute((0,), (1, 0, 2)), Tile((0,), (16, 16, 32)),
                                   Vectorize((0, 0), 1, reassoc)))
    assert _raw(_suite_features("syrk", cand(True), sizes), "total.inner_reduction") == 1.0
    assert _raw(_suite_features("syrk", cand(True), sizes), "total.inner_vectorizable") == 1.0
    assert _raw(_suite_features("syrk", cand(False), sizes), "total.inner_vectorizable") == 0.0


def test_inner_loop_carrying_a_flow_dependence_is_not_vectorizable():
    """seidel-2d updates A in place: A[i][j] reads A[i][j-1], written one j iteration earlier, so its
    unit-stride inner loop does not vectorize; jacobi-2d reads A and writes B, and its inner loop does."""
    from polyopt.cli.common import load_scop
    from polyopt.search.features import dominant_site
    from polyopt.search.inner_loop import carries_flow_dependence, effective_inner
    from polyopt.search.loopinfo import leaves

    sizes = {"tsteps": 4, "n": 40}
    for kernel, carried in (("seidel-2d", True), ("jacobi-2d", False)):
        scop = load_scop(f"suite:{kernel}")
        prog = backend.loop_program(scop, Candidate("original").apply(scop), sizes)
        main = dominant_site(prog, list(leaves(prog)))
        assert carries_flow_dependence(prog, main, effective_inner(prog, main)) is carried
        assert not carries_flow_dependence(prog, main, 0)     # t: no subscript moves with it
        assert _raw(extract(prog), "total.inner_vectorizable") == (0.0 if carried else 1.0)


@pytest.mark.parametrize("kernel,fixed", [("jacobi-2d", ("fission",)), ("heat-3d", ("separate",))])
def test_fused_or_guarded_inner_loop_is_not_vectorizable_until_distributed_or_separated(kernel, fixed):
    """The skewed band of jacobi-2d fuses both sweeps in its innermost loop: one statement reads what the
    other wrote an iteration earlier (LLVM refuses to vectorize it); heat-3d's band keeps guards on the
    innermost iterator inside the loop. Fission, and isl's `separate`, give loops that vectorize."""
    from polyopt.cli.common import load_scop
    from polyopt.transforms import Fission, Separate, Split

    scop = load_scop(f"suite:{kernel}")
    sizes = {"tsteps": 4, "n": 40}
    n = len(scop.statements[0].iterators)
    plain = Candidate("pluto")
    fixes = {"fission": (Split((0,), n - 1), Fission((0, 0))), "separate": (Separate((0,)),)}
    done = plain.then(*[t for f in fixed for t in fixes[f]])
    for cand, expected in ((plain, 0.0), (done, 1.0)):
        prog = backend.loop_program(scop, cand.apply(scop), sizes)
        assert _raw(extract(prog), "total.inner_vectorizable") == expected, cand


@pytest.mark.parametrize("trace", [(), (Permute((0,), (2, 1, 0)), Tile((0,), (1, 10, 32)), Tile((0, 0), (1, 2, 8)))])
def test_sampled_instance_counts_match_the_domain_of_a_tiled_triangular_nest(trace):
    """isl splits tiled lu into pieces that each run for a part of the loops above them; mid-range trip
    counts multiplied each piece's loops as if over the whole nest (36x too many instances at n=700).
    The sampled counts add up to the statements' exact instance counts."""
    import islpy as isl

    from polyopt.cli.common import load_scop
    from polyopt.search.loopinfo import leaves

    scop, params = load_scop("suite:lu"), {"n": 120}
    program = backend.loop_program(scop, Candidate("polly", trace).apply(scop), params)
    sampled: dict[str, float] = {}
    for leaf in leaves(program):
        sampled[leaf.call.statement] = sampled.get(leaf.call.statement, 0.0) + leaf.instances
    sets: list = []
    scop.domain.intersect_params(isl.Set("[n] -> { : n = 120 }")).foreach_set(sets.append)
    exact = {s.get_tuple_name(): s.count_val().to_python() for s in sets}
    for name, n in exact.items():
        assert sampled[name] == pytest.approx(n, rel=0.15), (name, sampled[name], n)


def test_a_recurrence_is_charged_over_the_recurrences_in_flight():
    """seidel-2d's inner j loop waits for A[i][j-1] (six adds and a division per iteration). Tiling the
    skewed band's time dimension by 8 puts 8 time steps inside it, which LLVM unrolls: 8 recurrences side
    by side, and the estimate charges a fraction of the latency (measured: 61 ms against 18 ms)."""
    from polyopt.cli.common import load_scop

    scop, sizes = load_scop("suite:seidel-2d"), {"tsteps": 16, "n": 200}
    plain = extract(backend.loop_program(scop, Candidate("original").apply(scop), sizes))
    tiled = extract(backend.loop_program(scop, Candidate("pluto", (Tile((0,), (8, 1, 1)),)).apply(scop), sizes))
    assert _raw(plain, "total.est_compute_per_flop") > 3.0 * _raw(tiled, "total.est_compute_per_flop")
    assert _raw(plain, "total.est_cycles_per_flop") > _raw(tiled, "total.est_cycles_per_flop")


def test_a_recurrence_in_a_strip_that_llvm_unrolls_away_is_still_a_recurrence():
    """A j strip of 8 (unrolled away) under a loop stepping 8 along j: seidel's A[i][j-1] chain runs
    through the strip and on into the next one, one recurrence (measured at BENCH sizes: 58 ms, the best
    candidates 18 ms; v12 estimated it the fastest of 96). The same strip under a loop that moves to
    another row and time step starts a new chain each time; out-of-order execution overlaps them
    (measured 22 ms), and the estimate stays at the scalar rate."""
    from polyopt.cli.common import load_scop

    scop, sizes = load_scop("suite:seidel-2d"), {"tsteps": 16, "n": 200}

    def compute(base, trace):
        cand = backend.candidate_from_json(json.dumps({"base": base, "trace": trace, "version": 1}))
        return _raw(extract(backend.loop_program(scop, backend.apply(scop, cand), sizes)),
                    "total.est_compute_per_flop")
    strip = [{"band": [0, 0], "op": "tile", "sizes": [1, 1, 8]}, {"band": [0], "inner": 0, "op": "separate_full_tiles"},
             {"band": [0, 0, 0], "dim": 2, "factor": 8, "op": "unroll"}]
    along_j = compute("pluto", [{"band": [0], "op": "permute", "order": [1, 0, 2]},
                                {"band": [0], "op": "tile", "sizes": [1, 8, 128]}, *strip])
    across_rows = compute("isl", [{"band": [0], "op": "permute", "order": [1, 2, 0]},
                                  {"band": [0], "op": "tile", "sizes": [1, 29, 8]},
                                  {"band": [0, 0], "op": "tile", "sizes": [1, 8, 1]}, *strip[1:]])
    assert across_rows == pytest.approx(1000.0, rel=0.01)     # one flop a cycle, scalar (x1000 per flop)
    assert along_j > 3.0 * across_rows


def test_a_constant_trip_loop_that_llvm_unrolls_completely_costs_no_loop_overhead():
    """gemm with k tiled by 4 (NK = 40): the 4-long point loop has constant bounds, LLVM unrolls it
    completely, and only the other loops are entered. With tiles of 6 the last tile is partial: the point
    loop's bound depends on the tile loop (min(5, 39 - c2)) and it stays a loop, entered 7 times per
    (i, j); now the tile loop, 7 constant trips, is the one unrolled away."""
    from polyopt.search.loopinfo import body_flops

    scop = gemm()
    ni, nj, nk = P["NI"], P["NJ"], P["NK"]
    flops = ni * nj * nk * body_flops(max(scop.statements, key=lambda s: len(s.iterators)).value)
    j = (Join((0,)), Join((0,)))
    entries = _overhead(Candidate("original", j + (Tile((0,), (1, 1, 4)),)))[0]
    assert entries == pytest.approx(1000 * (1 + ni + ni * nj) / flops)
    partial = _overhead(Candidate("original", j + (Tile((0,), (1, 1, 6)),)))[0]
    assert partial == pytest.approx(1000 * (1 + ni + ni * nj * 7) / flops, rel=0.01)


def test_a_guarded_statement_fused_into_the_inner_loop_keeps_it_from_vectorizing():
    """PolyBench gemm's `C[i][j] *= beta` runs under `if (k == 0)` inside the k copies of the update when k
    is unrolled in a register tile around the vector loop; LLVM if-converts the whole body (masked loads,
    stores and gathers: 218 ms at 800^3, where other vectorized candidates ran in 12-60 ms). The same schedule of a gemm without the
    initialization vectorizes."""
    from polyopt.cli.common import load_scop

    trace = (Permute((0,), (2, 0, 1)), Tile((0,), (16, 32, 64)), Tile((0, 0), (4, 2, 1)),
             Vectorize((0, 0, 0), 2, True))
    with_init = load_scop("suite:gemm")
    prog = backend.loop_program(with_init, Candidate("pluto", trace).apply(with_init), {"ni": 64, "nj": 64, "nk": 64})
    assert _raw(extract(prog), "total.inner_vectorizable") == 0.0
    plain = gemm()
    prog = backend.loop_program(plain, Candidate("pluto", trace).apply(plain), {"NI": 64, "NJ": 64, "NK": 64})
    assert _raw(extract(prog), "total.inner_vectorizable") == 1.0


def test_a_short_vector_loop_with_a_guard_or_a_loop_inside_does_not_vectorize():
    """LLVM unrolls a vector loop of at most 8 iterations completely before its loop vectorizer runs, and
    the SLP vectorizer does not pack the copies when they hold a guard (PolyBench gemm's `if (k == 0) C *=
    beta` for the first k; 283 ms at 800^3 where its unguarded tiles ran in 12-40 ms) or an inner loop's
    copies (143 ms). A short vector loop that is innermost and unguarded still counts as vectorized."""
    from polyopt.cli.common import load_scop

    def vectorizable(scop, sizes, trace):
        prog = backend.loop_program(scop, Candidate("pluto", trace).apply(scop), sizes)
        return _raw(extract(prog), "total.inner_vectorizable")
    with_init, plain = load_scop("suite:gemm"), gemm()
    small, big = {"ni": 64, "nj": 64, "nk": 64}, {"NI": 64, "NJ": 64, "NK": 64}
    guarded = (Permute((0,), (2, 1, 0)), Tile((0,), (16, 32, 16)), Tile((0, 0), (1, 4, 1)), Vectorize((0, 0, 0), 1, False))
    assert vectorizable(with_init, small, guarded) == 0.0
    assert vectorizable(plain, big, guarded) == 1.0
    around_k = (Tile((0,), (16, 32, 16)), Tile((0, 0), (1, 8, 4)), Vectorize((0, 0, 0), 1, False))
    innermost = (Permute((0,), (0, 2, 1)), Tile((0,), (16, 16, 32)), Tile((0, 0), (1, 4, 8)), Vectorize((0, 0, 0), 2, False))
    assert vectorizable(plain, big, around_k) == 0.0
    assert vectorizable(plain, big, innermost) == 1.0


def test_traffic_is_at_most_one_cache_line_per_access():
    """Box footprints of skewed subscripts overlap little, and the sliding-window model put a skewed
    jacobi-2d tile at 400 bytes per flop into L1 (measured: about 1 cycle per flop). Each access brings
    at most one line into a level: six accesses a point, five flops, 6 * 64 / 5 bytes per flop."""
    from polyopt.cli.common import load_scop

    scop = load_scop("suite:jacobi-2d")
    cand = backend.candidate_from_json(json.dumps({"base": "pluto", "version": 1, "trace": [
        {"band": [0], "op": "permute", "order": [1, 2, 0]}, {"band": [0], "op": "tile", "sizes": [1, 8, 8]},
        {"band": [0], "inner": 0, "op": "separate_full_tiles"},
        {"band": [0, 0], "dim": 2, "op": "vectorize", "reassoc": True},
        {"band": [0, 0, 0], "dim": 0, "factor": 4, "op": "unroll"}]}))
    v = extract(backend.loop_program(scop, backend.apply(scop, cand), {"tsteps": 20, "n": 200}))
    for level in ("l1", "l2", "l3"):
        assert _raw(v, f"total.traffic_{level}_per_flop") <= 1000 * 6 * 64 / 5 * 1.0001
    assert _raw(v, "total.traffic_l1_per_flop") == pytest.approx(1000 * 6 * 64 / 5, rel=1e-4)


def test_a_register_tile_too_big_to_unroll_whole_leaves_its_outer_loop_to_the_vectorizer():
    """gemm with an 8 x 4 x 2 (j, i, k) register tile (a random candidate that ran at 47 GFLOP/s at 800^3,
    vectorized): LLVM unrolls the 4 x 2 part, but 8 more copies of it exceed its full-unroll threshold, so
    the loop vectorizer gets the 8-wide j loop (unit stride in C and B), not the k loop outside the tile (a
    reduction into C, which would stay scalar)."""
    from polyopt.cli.common import load_scop
    from polyopt.search.features import dominant_site
    from polyopt.search.inner_loop import effective_inner, fully_unrolled
    from polyopt.search.loopinfo import leaves

    scop = load_scop("suite:gemm")
    cand = Candidate.from_json(json.dumps({"base": "isl", "version": 1, "trace": [
        {"band": [0], "op": "permute", "order": [1, 0, 2]}, {"band": [0], "op": "tile", "sizes": [80, 40, 25]},
        {"band": [0, 0], "op": "tile", "sizes": [8, 4, 2]}, {"band": [0], "inner": 0, "op": "separate_full_tiles"},
        {"band": [0, 0, 0], "dim": 2, "factor": 8, "op": "unroll"}]}))
    prog = backend.loop_program(scop, cand.apply(scop), {"ni": 800, "nj": 800, "nk": 800})
    main = dominant_site(prog, list(leaves(prog)))
    k = effective_inner(prog, main)
    assert [lv.extent for lv in main.loops[k:]][:2] == [8, 4]
    assert fully_unrolled(prog, main, varying_bounds=True)[k:] == (False, True, True)
    assert _raw(extract(prog), "total.inner_vectorizable") == 1.0
