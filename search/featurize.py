"""Candidate -> feature vector, through the real transformed loop AST, cached by candidate JSON.

Structure cache: marks (parallel, vectorize, unroll, ...) annotate loops but never change the loop nest
isl generates, and neither do band splits. So the loop AST is generated once per *structure* (the
schedule's map with its band AST build options: isolate / separate), and a candidate that differs only in
its marks reuses it, re-annotated: a mark at schedule depth d over statements S annotates the loops of
dimension d whose statements are all in S (what codegen.loop_ast does while converting the isl AST).
That saves the isl AST generation (30-150 ms) for about a third of the explorer's moves."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np

from polyopt.model import Scop
from polyopt.search import backend
from polyopt.search.ast_worker import AstWorkerUnavailable, LoopAstWorker
from polyopt.search.features import extract, n_features

log = logging.getLogger(__name__)


class Featurizer:
    """Features of candidates of one (scop, params); None for a candidate that cannot be built."""

    def __init__(self, scop: Scop, params: Mapping[str, int], *, threads: int | None = None,
                 cache_size: int = 20000, structure_cache: bool = True, ast_timeout: float | None = None) -> None:
        """ast_timeout: generate loop ASTs in a worker process and give up on one after that many seconds
        (search.ast_worker; the tuner's setting); None: in this process, unbounded."""
        self.scop = scop
        self.params = dict(params)
        self.threads = threads
        self._worker = LoopAstWorker(scop, params, ast_timeout) if ast_timeout is not None else None
        self._cache: OrderedDict[str, np.ndarray | None] = OrderedDict()
        self._size = cache_size
        self._struct: OrderedDict[Any, Any] | None = OrderedDict() if structure_cache else None
        self.n_built = 0
        self.n_reused = 0

    def close(self) -> None:
        """Stop the loop-AST worker (if any)."""
        if self._worker is not None:
            self._worker.close()

    def _build(self, schedule: Any) -> Any:
        if self._worker is not None:
            try:
                return self._worker.build(backend.schedule_tree(schedule))
            except AstWorkerUnavailable as e:
                log.warning("%s; loop ASTs are built in this process from now on, without a time limit", e)
                self._worker = None
        return backend.loop_program(self.scop, schedule, self.params)

    def program(self, schedule: Any) -> Any:
        """The loop program of a schedule (through the structure cache)."""
        if self._struct is None:
            return self._build(schedule)
        tree = backend.schedule_tree(schedule)
        skey, marks = _structure(tree)
        prog = self._struct.get(skey)
        if prog is None:
            prog = self._build(schedule)
            self._struct[skey] = prog
            if len(self._struct) > 2000:
                self._struct.popitem(last=False)
            self.n_built += 1
            return prog
        self._struct.move_to_end(skey)
        self.n_reused += 1
        return _reannotate(prog, marks)

    def one(self, candidate: Any, key: str | None = None, schedule: Any = None) -> np.ndarray | None:
        """Features of a candidate (pass its Schedule when it is already built)."""
        key = key or backend.candidate_to_json(candidate)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            if schedule is None:
                schedule = backend.apply(self.scop, candidate)
            program = self.program(schedule)
            vec: np.ndarray | None = extract(program, threads=self.threads)
        except Exception as e:  # noqa: BLE001 - an unbuildable candidate just gets no features
            log.debug("no features for %s: %s", key, e)
            vec = None
        self._cache[key] = vec
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return vec

    def matrix(self, candidates: Sequence[Any], keys: Sequence[str] | None = None) -> np.ndarray:
        """Rows of features; a row of NaN where a candidate has none."""
        out = np.full((len(candidates), n_features()), np.nan)
        for i, c in enumerate(candidates):
            v = self.one(c, keys[i] if keys is not None else None)
            if v is not None:
                out[i] = v
        return out


def _structure(tree: Any) -> tuple[Any, tuple[tuple[str, int, frozenset[str]], ...]]:
    """(structure key, marks as (name, schedule depth, statements below)) of an isl schedule."""
    import islpy as isl

    options: list[str] = []
    marks: list[tuple[str, int, frozenset[str]]] = []

    def visit(node: isl.ScheduleNode) -> bool:
        t = node.get_type()
        if t == isl.schedule_node_type.band:
            opt = node.band_get_ast_build_options()
            if not opt.is_empty():
                options.append(f"{node.get_schedule_depth()}:{opt}")
        elif t == isl.schedule_node_type.mark:
            stmts: list[str] = []
            node.get_domain().foreach_set(lambda st: stmts.append(st.get_tuple_name()))
            marks.append((node.mark_get_id().get_name(), node.get_schedule_depth(), frozenset(stmts)))
        return True
    tree.get_root().foreach_descendant_top_down(visit)
    return (tree.get_map().to_str(), tuple(options)), tuple(marks)


def _reannotate(program: Any, marks: tuple[tuple[str, int, frozenset[str]], ...]) -> Any:
    """The program with every loop's annotations replaced by those the marks give it."""
    import dataclasses

    from polyopt.codegen.loop_ast import For, If, Mark, StatementCall, iterator_prefix

    prefix = iterator_prefix(program.scop)

    def stmts(nodes: tuple[Any, ...]) -> frozenset[str]:
        out: set[str] = set()
        for n in nodes:
            if isinstance(n, StatementCall):
                out.add(n.statement)
            elif isinstance(n, For):
                out |= stmts(n.body)
            elif isinstance(n, If):
                out |= stmts(n.then) | stmts(n.orelse)
            elif isinstance(n, Mark):
                out |= stmts(n.body)
        return frozenset(out)

    def walk(nodes: tuple[Any, ...]) -> tuple[Any, ...]:
        out = []
        for n in nodes:
            if isinstance(n, For):
                depth = n.iterator[len(prefix):]
                mine = stmts(n.body)
                ann = tuple(name for name, d, ss in marks if str(d) == depth and mine and mine <= ss)
                out.append(dataclasses.replace(n, body=walk(n.body), annotations=ann))
            elif isinstance(n, If):
                out.append(dataclasses.replace(n, then=walk(n.then), orelse=walk(n.orelse)))
            elif isinstance(n, Mark):
                out.append(dataclasses.replace(n, body=walk(n.body)))
            else:
                out.append(n)
        return tuple(out)
    return dataclasses.replace(program, body=walk(program.body))
