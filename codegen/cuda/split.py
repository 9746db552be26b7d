"""Split reductions (split-K) on the GPU: where the parts of a '+' reduction go and how long they are.

GpuMapping(split=P) runs the outermost sequential member of a mapped band (gemm's k, a conv's input
channels) in P parts on a grid dimension; each block adds its register accumulators to the output with
atomicAdd. mapping.py places the parts loop ("gpu:split.<dim>" mark); this module decides whether the
band can be split, the part length, and which grid dimension runs the parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import islpy as isl

from polyopt.errors import CodegenError
from polyopt.legality import is_reduction
from polyopt.model import Statement


@dataclass(frozen=True)
class SplitPlan:
    length: int            # iterations of the split member per part
    grid_dim: int          # 0, 1, 2: the grid dimension (x, y, z) that runs the parts
    dropped: int | None    # the mapped dimension that fits in one tile and gives up its grid dimension
    extent: int            # iterations of the split member


def member_range(node: isl.ScheduleNode, upa: isl.UnionPwAff,
                 params: Mapping[str, int] | None) -> tuple[int, int] | None:
    """The smallest and largest value of a band member over the band's domain, when both are constants
    (after fixing the parameters to `params`)."""
    values = isl.UnionMap.from_union_pw_aff(upa).intersect_domain(node.get_domain()).range()
    if params:
        fixed = isl.Set(f"[{', '.join(params)}] -> {{ : {' and '.join(f'{k} = {int(v)}' for k, v in params.items())} }}")
        values = values.intersect_params(fixed.align_params(values.get_space()))
    sets = values.get_set_list()
    if sets.n_set() != 1:
        return None
    st = sets.get_at(0)
    lo, hi = st.dim_min(0), st.dim_max(0)
    if not (lo.is_cst() and hi.is_cst()):
        return None
    vals: list[int] = []
    for pa in (lo, hi):
        pieces = pa.get_pieces()
        if len(pieces) != 1:
            return None
        vals.append(int(pieces[0][1].get_constant_val().to_python()))
    return vals[0], vals[1]


def plan_split(node: isl.ScheduleNode, stmts: Sequence[Statement], f: Sequence[isl.UnionPwAff],
               mapped: Sequence[int], tiles: Sequence[int], seq: Sequence[int], private: Sequence[str],
               parts: int, seq_tile: int, params: Mapping[str, int] | None) -> SplitPlan:
    """How to split the first sequential member of a mapped band in `parts` parts (CodegenError, saying
    why, when it cannot be split). f: the band's members; mapped: the members on the grid (x first)."""
    why = None
    if not seq:
        why = "the mapped band has no sequential (reduction) member"
    elif not private:
        why = "the accumulators are not kept in registers (private)"
    elif not stmts or not all(is_reduction(s, ("+",)) for s in stmts):
        why = "not every statement of the band is a '+' reduction"
    rng = None if why else member_range(node, f[seq[0]], params)
    if why is None and rng is None:
        why = "the reduction loop's bounds are not constant (give the sizes: params)"
    if why is not None:
        raise CodegenError(f"cannot split the reduction in {parts} parts: {why}")
    extent = rng[1] - rng[0] + 1
    length = -(-extent // parts)
    if seq_tile:
        length = -(-length // seq_tile) * seq_tile
    if len(mapped) < 3:
        return SplitPlan(length, len(mapped), None, extent)
    for d in range(len(mapped)):
        r = member_range(node, f[mapped[d]], params)
        if r is not None and r[0] // tiles[d] == r[1] // tiles[d]:
            return SplitPlan(length, d, d, extent)
    raise CodegenError(f"cannot split the reduction in {parts} parts: all three grid dimensions are in use "
                       "(tile one mapped loop to its whole extent)")
