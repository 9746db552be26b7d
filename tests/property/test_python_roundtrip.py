"""Random affine loop nests, printed as Python source and parsed back, model the same iteration domains,
schedules and accesses as the loop tree built directly; renaming every variable keeps the fingerprint."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from polyopt import expr as X
from polyopt.builder import build_scop
from polyopt.expr import DType
from polyopt.frontend.python_frontend import from_python_source
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, If, KernelSource, Loop

PARAMS = ("N", "M")


@dataclass(frozen=True)
class Affine:
    """const + sum(coef * variable), variables given by position: params first, then iterators."""

    const: int
    coefs: tuple[int, ...]


@dataclass(frozen=True)
class LoopSpec:
    lower: Affine
    upper: Affine              # exclusive bound of the iteration range
    upper_min: Affine | None   # optional second upper bound: range(lo, min(u1, u2))
    step: int                  # 1, 2 or -1 (then range(upper - 1, lower - 1, -1))


@dataclass(frozen=True)
class NestSpec:
    loops: tuple[LoopSpec, ...]
    write: tuple[Affine, Affine]
    read: tuple[Affine, Affine]
    guard: Affine | None       # `if guard >= 0:` around the statement


def affines(nvars: int, small: bool = False) -> st.SearchStrategy[Affine]:
    coef = st.integers(-1, 1) if small else st.integers(-2, 2)
    return st.builds(Affine, st.integers(-3, 3), st.tuples(*[coef] * nvars))


@st.composite
def nests(draw: st.DrawFn) -> NestSpec:
    depth = draw(st.integers(1, 3))
    loops = []
    for d in range(depth):
        nvars = len(PARAMS) + d
        lower = draw(affines(nvars, small=True))
        # the upper bound always contains a parameter with a positive coefficient: finite, mostly non-empty
        upper = draw(affines(nvars, small=True))
        upper = Affine(upper.const, (1,) + upper.coefs[1:])
        upper_min = draw(st.none() | affines(nvars, small=True))
        loops.append(LoopSpec(lower, upper, upper_min, draw(st.sampled_from([1, 1, 2, -1]))))
    nvars = len(PARAMS) + depth
    subs = [draw(affines(nvars)) for _ in range(4)]
    # a negative constant subscript counts from the end in Python: keep constant subscripts >= 0
    subs = [Affine(abs(a.const), a.coefs) if not any(a.coefs) else a for a in subs]
    return NestSpec(tuple(loops), (subs[0], subs[1]), (subs[2], subs[3]), draw(st.none() | affines(nvars)))


# -- the expected model: the loop tree built directly ---------------------------------------------

def _terms(a: Affine, names: list[str]) -> list[tuple[int, str | None]]:
    """(coefficient, variable) in printing order; the constant (variable None) last, or alone."""
    out: list[tuple[int, str | None]] = [(c, n) for c, n in zip(a.coefs, names) if c]
    return out + [(a.const, None)] if a.const or not out else out


def _term_expr(c: int, n: str | None) -> X.Expr:
    if n is None:
        return X.Const(c)
    return X.Var(n) if c == 1 else X.Unary("neg", X.Var(n)) if c == -1 else X.Binary("*", X.Const(c), X.Var(n))


def to_expr(a: Affine, names: list[str]) -> X.Expr:
    """The expression tree Python builds for py(a): the same left-to-right +/- chain."""
    (c0, n0), *rest = _terms(a, names)
    out = _term_expr(c0, n0)
    for c, n in rest:
        out = X.Binary("+" if c > 0 else "-", out, _term_expr(abs(c), n))
    return out


def expected_source(spec: NestSpec, params: tuple[str, ...], iters: list[str], arrays: tuple[str, str]) \
        -> KernelSource:
    names = list(params) + iters
    w, r = arrays
    target = X.Access(w, tuple(to_expr(a, names) for a in spec.write))
    value = X.Binary("+", X.Access(r, tuple(to_expr(a, names) for a in spec.read)), X.Const(1.0, DType.FLOAT64))
    body: tuple = (Assign(target, value),)
    if spec.guard is not None:
        body = (If(X.Compare(">=", to_expr(spec.guard, names), X.Const(0)), body),)
    for d in reversed(range(len(spec.loops))):
        lp, i = spec.loops[d], iters[d]
        lo, hi = to_expr(lp.lower, names), to_expr(lp.upper, names)
        if lp.upper_min is not None:
            hi = X.Binary("min", hi, to_expr(lp.upper_min, names))
        if lp.step > 0:
            body = (Loop(i, lo, X.Compare("<", X.Var(i), hi), lp.step, body),)
        else:
            body = (Loop(i, X.Binary("-", hi, X.Const(1)), X.Compare(">=", X.Var(i), lo), -1, body),)
    args = tuple(Argument(p, "param", DType.INT64) for p in params)
    args += tuple(Argument(a, "array", DType.FLOAT64) for a in arrays)
    decls = tuple(ArrayDecl(a, DType.FLOAT64, (None, None)) for a in arrays)
    return KernelSource("nest", args, decls, body)


# -- the same nest as Python source text ----------------------------------------------------------

def _term_text(c: int, n: str | None) -> str:
    if n is None:
        return str(c)
    return n if c == 1 else f"-{n}" if c == -1 else f"{c} * {n}"


def py(a: Affine, names: list[str]) -> str:
    (c0, n0), *rest = _terms(a, names)
    text = _term_text(c0, n0)
    for c, n in rest:
        text += f" {'+' if c > 0 else '-'} {_term_text(abs(c), n)}"
    return text


def python_text(spec: NestSpec, params: tuple[str, ...], iters: list[str], arrays: tuple[str, str]) -> str:
    names = list(params) + iters
    w, r = arrays
    header = f"def nest({', '.join(f'{p}: int' for p in params)}, "
    lines = [header + f"{w}: \"float64[:, :]\", {r}: \"float64[:, :]\"):"]
    for d, lp in enumerate(spec.loops):
        hi = py(lp.upper, names)
        if lp.upper_min is not None:
            hi = f"min({hi}, {py(lp.upper_min, names)})"
        rng = (f"range({py(lp.lower, names)}, {hi}, {lp.step})" if lp.step > 0
               else f"range({hi} - 1, {py(lp.lower, names)} - 1, -1)")
        lines.append("    " * (d + 1) + f"for {iters[d]} in {rng}:")
    indent = "    " * (len(spec.loops) + 1)
    if spec.guard is not None:
        lines.append(indent + f"if {py(spec.guard, names)} >= 0:")
        indent += "    "
    subs = ", ".join(py(a, names) for a in spec.write)
    read = "][".join(py(a, names) for a in spec.read)
    lines.append(indent + f"{w}[{subs}] = {r}[{read}] + 1.0")
    return "\n".join(lines) + "\n"


def _names(renamed: bool, depth: int) -> tuple[tuple[str, ...], list[str], tuple[str, str]]:
    if renamed:
        return ("size_a", "size_b"), ["row", "col", "kk"][:depth], ("Out", "Inp")
    return PARAMS, ["i", "j", "k"][:depth], ("A", "B")


@settings(max_examples=80, deadline=None)
@given(nests())
def test_python_text_round_trips(spec: NestSpec) -> None:
    params, iters, arrays = _names(False, len(spec.loops))
    text = python_text(spec, params, iters, arrays)
    parsed = from_python_source(text, "nest")
    expected = build_scop(expected_source(spec, params, iters, arrays))
    (s,), (t,) = parsed.statements, expected.statements
    assert s.domain.is_equal(t.domain), text
    assert s.schedule.is_equal(t.schedule), text
    assert parsed.reads.is_equal(expected.reads), text
    assert parsed.writes.is_equal(expected.writes), text
    assert parsed.fingerprint == expected.fingerprint, text

    p2, i2, a2 = _names(True, len(spec.loops))
    renamed = from_python_source(python_text(spec, p2, i2, a2), "nest")
    assert renamed.fingerprint == parsed.fingerprint, text


@settings(max_examples=30, deadline=None)
@given(nests(), nests())
def test_different_nests_differ(a: NestSpec, b: NestSpec) -> None:
    """The fingerprint is not blind: nests with different domains or accesses get different ones."""
    sa, sb, sb_swapped = (from_python_source(python_text(n, *_names(False, len(n.loops))))
                          for n in (a, b, _swap_params(b)))
    same = any(len(a.loops) == len(b.loops) and sa.domain.is_equal(s.domain)
               and sa.reads.is_equal(s.reads) and sa.writes.is_equal(s.writes)
               and sa.schedule_map.is_equal(s.schedule_map) for s in (sb, sb_swapped))
    if not same:            # (the fingerprint renames parameters by first use: N<->M may coincide)
        assert sa.fingerprint != sb.fingerprint


def _swap_params(spec: NestSpec) -> NestSpec:
    def sw(a: Affine | None) -> Affine | None:
        return None if a is None else Affine(a.const, (a.coefs[1], a.coefs[0]) + a.coefs[2:])
    loops = tuple(LoopSpec(sw(lp.lower), sw(lp.upper), sw(lp.upper_min), lp.step)  # type: ignore[arg-type]
                  for lp in spec.loops)
    return NestSpec(loops, (sw(spec.write[0]), sw(spec.write[1])),  # type: ignore[arg-type]
                    (sw(spec.read[0]), sw(spec.read[1])), sw(spec.guard))  # type: ignore[arg-type]


# -- the same nest as C source text: both frontends must agree ------------------------------------

def c_text(spec: NestSpec, params: tuple[str, ...], iters: list[str], arrays: tuple[str, str]) -> str:
    names = list(params) + iters
    w, r = arrays
    lines = ["#define min(a, b) (((a) < (b)) ? (a) : (b))",
             f"void nest({', '.join(f'int {p}' for p in params)}, double {w}[1000][1000], "
             f"double {r}[1000][1000]) {{", f"  int {', '.join(iters)};", "#pragma scop"]
    for d, lp in enumerate(spec.loops):
        i, hi = iters[d], py(lp.upper, names)
        if lp.upper_min is not None:
            hi = f"min({hi}, {py(lp.upper_min, names)})"
        head = (f"for ({i} = {py(lp.lower, names)}; {i} < {hi}; {i} += {lp.step})" if lp.step > 0
                else f"for ({i} = {hi} - 1; {i} >= {py(lp.lower, names)}; {i}--)")
        lines.append("  " * (d + 1) + head)
    indent = "  " * (len(spec.loops) + 1)
    if spec.guard is not None:
        lines.append(indent + f"if ({py(spec.guard, names)} >= 0)")
        indent += "  "
    subs = "][".join(py(a, names) for a in spec.write)
    read = "][".join(py(a, names) for a in spec.read)
    lines += [indent + f"{w}[{subs}] = {r}[{read}] + 1.0;", "#pragma endscop", "}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(nests())
def test_c_and_python_text_give_the_same_model(spec: NestSpec) -> None:
    from polyopt.frontend.c_frontend import from_c

    params, iters, arrays = _names(False, len(spec.loops))
    ctext = c_text(spec, params, iters, arrays)
    from_py = from_python_source(python_text(spec, params, iters, arrays), "nest")
    from_cc = from_c(ctext)
    (s,), (t,) = from_py.statements, from_cc.statements
    assert s.domain.is_equal(t.domain), ctext
    assert s.schedule.is_equal(t.schedule), ctext
    assert from_py.reads.is_equal(from_cc.reads), ctext
    assert from_py.writes.is_equal(from_cc.writes), ctext
    assert from_py.fingerprint == from_cc.fingerprint, ctext
