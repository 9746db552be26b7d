"""Lowering of a `#pragma scop` region's statements (pycparser) to the language-neutral loop tree."""

from __future__ import annotations

from pycparser import c_ast

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason
from polyopt.expr import DType
from polyopt.frontend.c_expr import Diag
from polyopt.frontend.c_scope import Facts, Region, Scope
from polyopt.frontend.tree import ArrayDecl, Assign, If, KernelSource, Loop, Node

_COMPOUND_OPS = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%"}
_INCREMENTS = {"++": "+", "p++": "+", "--": "-", "p--": "-"}
_RELATIONAL = ("<", "<=", ">", ">=")
_STEP_HINT = "write the increment as i++, ++i, i--, --i, i += c, i -= c or i = i + c with a constant c"
_JUMPS = {
    c_ast.While: ("while", "rewrite it as a counted for loop with affine bounds"),
    c_ast.DoWhile: ("do-while", "rewrite it as a counted for loop with affine bounds"),
    c_ast.Goto: ("goto", "SCoPs have static control flow: no jumps"),
    c_ast.Label: ("label", "SCoPs have static control flow: no jumps"),
    c_ast.Break: ("break", "SCoPs have static control flow: no early loop exits"),
    c_ast.Continue: ("continue", "SCoPs have static control flow: guard the rest of the body with if"),
    c_ast.Return: ("return", "move the return after #pragma endscop"),
    c_ast.Switch: ("switch", "use if / else if with affine conditions"),
    c_ast.Case: ("case", "use if / else if with affine conditions"),
    c_ast.Default: ("default", "use if / else if with affine conditions"),
}


def find_regions(ast: c_ast.FileAST, diag: Diag) -> list[Region]:
    """Every `#pragma scop` ... `#pragma endscop` pair (same block) in every function, in file order."""
    regions: list[Region] = []
    for ext in ast.ext:
        if not isinstance(ext, c_ast.FuncDef):
            continue
        spans: list[tuple[c_ast.Node, tuple[c_ast.Node, ...]]] = []
        _RegionFinder(spans, diag).visit(ext.body)
        name = ext.decl.name
        for k, (pragma, items) in enumerate(spans):
            regions.append(Region(ext, items, pragma, name if k == 0 else f"{name}_{k}"))
    return regions


class _RegionFinder(c_ast.NodeVisitor):
    def __init__(self, spans: list[tuple[c_ast.Node, tuple[c_ast.Node, ...]]], diag: Diag) -> None:
        self.spans = spans
        self.diag = diag

    def visit_Compound(self, node: c_ast.Compound) -> None:
        items = node.block_items or []
        start: int | None = None
        for k, item in enumerate(items):
            word = item.string.strip() if isinstance(item, c_ast.Pragma) else ""
            if word == "scop" and start is None:
                start = k
            elif word == "endscop" and start is not None:
                self.spans.append((items[start], tuple(items[start + 1:k])))
                start = None
            elif word in ("scop", "endscop"):
                raise self.diag.error(ScopReason.NO_SCOP, f"unbalanced '#pragma {word}'", item,
                                      "each #pragma scop needs a #pragma endscop in the same block")
            elif start is None:
                self.visit(item)
        if start is not None:
            raise self.diag.error(ScopReason.NO_SCOP, "'#pragma scop' without '#pragma endscop'", items[start],
                                  "close the region with #pragma endscop in the same block")


class RegionLowerer:
    """Turns one region into a KernelSource."""

    def __init__(self, region: Region, ast: c_ast.FileAST, diag: Diag, typedefs: dict[str, c_ast.Node],
                 enums: dict[str, int]) -> None:
        self.region = region
        self.diag = diag
        self.typedefs = typedefs
        self.scope = Scope(region, ast, diag, typedefs, enums)
        self.sym = self.scope.sym
        self.ex = self.scope.ex
        self.active: list[str] = []        # iterators of the enclosing loops

    def lower(self, file: str, text: str) -> KernelSource:
        self.scope.build()
        body = self.prologue() + self.block(self.region.items)
        return KernelSource(self.region.name, tuple(self.scope.arguments), tuple(self.sym.arrays.values()),
                            body, language="c", file=file, source_text=text)

    def error(self, reason: ScopReason, message: str, node: c_ast.Node, hint: str = "") -> ScopError:
        return self.diag.error(reason, message, node, hint)

    def prologue(self) -> tuple[Node, ...]:
        """`double s = 0;` before the region and written in it: `s = 0` opens the region."""
        out = []
        for decl, value in self.scope.prologue:
            loc, text = self.diag.where(decl)
            out.append(Assign(X.Access(decl.name, ()), value, loc, text))
        return tuple(out)

    def block(self, items: tuple[c_ast.Node, ...] | list[c_ast.Node]) -> tuple[Node, ...]:
        out: list[Node] = []
        for item in items:
            out.extend(self.statement(item))
        return tuple(out)

    def body(self, node: c_ast.Node | None) -> tuple[Node, ...]:
        return () if node is None else self.block([node])

    def statement(self, n: c_ast.Node) -> list[Node]:
        if isinstance(n, c_ast.Compound):
            return list(self.block(n.block_items or []))
        if isinstance(n, c_ast.For):
            return [self.loop(n)]
        if isinstance(n, c_ast.If):
            loc, text = self.diag.where(n)
            return [If(self.ex.cond(n.cond), self.body(n.iftrue), self.body(n.iffalse), loc, text)]
        if isinstance(n, c_ast.Assignment):
            return [self.assign(n)]
        if isinstance(n, c_ast.UnaryOp) and n.op in _INCREMENTS:
            return [self.increment(n)]
        if isinstance(n, c_ast.DeclList):
            return [s for d in n.decls for s in self.declare(d)]
        if isinstance(n, c_ast.Decl):
            return self.declare(n)
        if isinstance(n, (c_ast.EmptyStatement, c_ast.Pragma)):
            return []
        if type(n) in _JUMPS:
            word, hint = _JUMPS[type(n)]
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"'{word}' statement in a SCoP", n, hint)
        self.ex.expr(n)   # raises for calls with side effects, pointer use, ...
        raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "expression statement without an effect", n,
                         "a SCoP statement assigns to an array element or a local variable")

    # --- loops ----------------------------------------------------------------------------------
    def loop(self, n: c_ast.For) -> Loop:
        it, init = self.loop_init(n)
        cond = self.loop_cond(n.cond, n)
        step = self.loop_step(n.next, it, n)
        self.check_bound_writes(init, cond, n)
        self.active.append(it)
        try:
            body = self.body(n.stmt)
        finally:
            self.active.pop()
        loc, text = self.diag.where(n)
        return Loop(it, init, cond, step, body, loc, text)

    def check_bound_writes(self, init: X.Expr, cond: X.Expr, n: c_ast.For) -> None:
        """A local variable in the loop bounds that the loop body writes: LOOP_BOUND_WRITE at the write."""
        names = {a.array for e in (init, cond) for a in X.accesses(e) if not a.indices}
        if not names or n.stmt is None:
            return
        writes = Facts.of((n.stmt,)).write_nodes
        for name in sorted(names & set(writes)):
            raise self.error(ScopReason.LOOP_BOUND_WRITE, f"the loop body writes '{name}', which bounds the "
                             "loop", writes[name], "bounds must not change while the loop runs")

    def loop_init(self, n: c_ast.For) -> tuple[str, X.Expr]:
        init = n.init
        if isinstance(init, c_ast.DeclList) and len(init.decls) == 1 and init.decls[0].init is not None:
            decl = init.decls[0]
            if not self.ex.ctype(decl.type, decl, decl.name).is_int:
                raise self.error(ScopReason.BAD_LOOP, f"loop iterator '{decl.name}' is not an integer", n,
                                 "declare loop iterators as int or long")
            self.sym.iterators.add(decl.name)
            self.scope.int_names.add(decl.name)
            return decl.name, self.ex.expr(decl.init)
        if isinstance(init, c_ast.Assignment) and init.op == "=" and isinstance(init.lvalue, c_ast.ID):
            name = init.lvalue.name
            if name not in self.sym.iterators and name not in self.sym.params:
                raise self.error(ScopReason.UNKNOWN_NAME, f"loop iterator '{name}' is not declared", n)
            return name, self.ex.expr(init.rvalue)
        raise self.error(ScopReason.BAD_LOOP, "loop header does not initialise one iterator", n,
                         "write the header as for (i = lb; i < ub; i++) or for (int i = lb; ...)")

    def loop_cond(self, c: c_ast.Node | None, n: c_ast.For) -> X.Expr:
        if isinstance(c, c_ast.BinaryOp) and c.op == "&&":
            return X.Logical("and", self.loop_cond(c.left, n), self.loop_cond(c.right, n))
        if isinstance(c, c_ast.BinaryOp) and c.op in _RELATIONAL:
            return X.Compare(c.op, self.ex.expr(c.left), self.ex.expr(c.right))
        what = "no exit condition" if c is None else "an unsupported exit condition"
        raise self.error(ScopReason.BAD_LOOP, f"loop has {what}", n,
                         "the exit test must be <, <=, > or >= comparisons of the iterator, joined by &&")

    def loop_step(self, nxt: c_ast.Node | None, it: str, n: c_ast.For) -> int:
        step: int | None = None
        if isinstance(nxt, c_ast.UnaryOp) and nxt.op in _INCREMENTS and _is_id(nxt.expr, it):
            step = 1 if _INCREMENTS[nxt.op] == "+" else -1
        elif isinstance(nxt, c_ast.Assignment) and _is_id(nxt.lvalue, it):
            rhs = nxt.rvalue
            if nxt.op in ("+=", "-="):
                c = self.ex.const_int(rhs)
                step = None if c is None else (c if nxt.op == "+=" else -c)
            elif nxt.op == "=" and isinstance(rhs, c_ast.BinaryOp) and rhs.op in ("+", "-"):
                if _is_id(rhs.left, it):
                    c = self.ex.const_int(rhs.right)
                    step = None if c is None else (c if rhs.op == "+" else -c)
                elif rhs.op == "+" and _is_id(rhs.right, it):
                    step = self.ex.const_int(rhs.left)
        if step is None or step == 0:
            raise self.error(ScopReason.BAD_LOOP, f"loop increment of '{it}' is not a non-zero constant step",
                             n, _STEP_HINT)
        return step

    # --- statements -----------------------------------------------------------------------------
    def assign(self, n: c_ast.Assignment) -> Assign:
        target = self.target(n.lvalue)
        value = self.ex.expr(n.rvalue)
        if n.op != "=":
            op = _COMPOUND_OPS.get(n.op)
            if op is None:
                raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported assignment '{n.op}'", n,
                                 "bitwise operators and shifts are outside the model")
            value = X.Binary(op, target, value)
        loc, text = self.diag.where(n)
        return Assign(target, value, loc, text)

    def increment(self, n: c_ast.UnaryOp) -> Assign:
        target = self.target(n.expr)
        loc, text = self.diag.where(n)
        return Assign(target, X.Binary(_INCREMENTS[n.op], target, X.Const(1, DType.INT32)), loc, text)

    def target(self, lv: c_ast.Node) -> X.Access:
        """The written location of an assignment, with the checks on what may be written."""
        if isinstance(lv, c_ast.ID):
            name = lv.name
            if name in self.sym.iterators or name in self.sym.params or name in self.sym.values:
                kind = "loop iterator" if name in self.sym.iterators else "size parameter"
                raise self.error(ScopReason.LOOP_BOUND_WRITE, f"assignment to the {kind} '{name}'", lv,
                                 "loop iterators and size parameters are read-only inside a SCoP; "
                                 "copy the value into a new variable")
            if name in self.sym.scalars:
                raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"assignment to the scalar argument "
                                 f"'{name}'", lv, "scalar arguments are read-only; use a local variable")
            decl = self.sym.arrays.get(name)
            if decl is not None and decl.shape:
                raise self.error(ScopReason.POINTER_ARITHMETIC, f"assignment to the array pointer '{name}'",
                                 lv, "arrays cannot be re-pointed inside a SCoP")
        e = self.ex.expr(lv)
        if not isinstance(e, X.Access):
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "assignment to something that is not a "
                             "variable or an array element", lv)
        return e

    def declare(self, d: c_ast.Decl) -> list[Node]:
        """A declaration inside the region: a local (0-d) variable or array, plus its initialisation."""
        if not d.name or isinstance(d.type, c_ast.FuncDecl):
            return []
        ctype = self.ex.ctype(d.type, d, d.name)
        if d.name in self.sym.iterators:
            if not ctype.is_int:
                raise self.error(ScopReason.BAD_LOOP, f"loop iterator '{d.name}' is not an integer", d)
            return []
        if ctype.is_pointer:
            self.sym.pointers[d.name] = self.scope.alias_of(d)
            raise self.ex.pointer_error(d.name, d)
        if ctype.is_int and d.init is not None and d.name not in self.scope.in_region.written:
            value = self.ex.expr(d.init)     # an integer of iterators and sizes: substituted (i + 1 ...)
            names = set(self.active) | self.sym.params
            if not any(isinstance(v, X.Access) or (isinstance(v, X.Var) and v.name not in names)
                       for v in X.walk(value)):
                self.sym.values[d.name] = value
                return []
        if ctype.dtype is None or not (ctype.is_scalar or ctype.is_array):
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"'{d.name}' has an unsupported type "
                             f"({ctype.spelled})", d, "use int, long, float or double scalars and arrays")
        decl = ArrayDecl(d.name, ctype.dtype, self.scope.shape(ctype, d), is_argument=False)
        old = self.sym.arrays.get(d.name)
        if old is not None and old != decl:
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"'{d.name}' is declared again with another type "
                             "or shape", d, "use distinct names for distinct variables")
        self.sym.arrays[d.name] = decl
        self.sym.values.pop(d.name, None)
        if d.init is None:
            return []
        if isinstance(d.init, c_ast.InitList) or decl.shape:
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "array initializer in a SCoP", d,
                             "initialise the array with a loop")
        loc, text = self.diag.where(d)
        return [Assign(X.Access(d.name, ()), self.ex.expr(d.init), loc, text)]


def _is_id(node: c_ast.Node | None, name: str) -> bool:
    return isinstance(node, c_ast.ID) and node.name == name
