"""What the names of a `#pragma scop` region stand for: the function's parameters (size parameters,
scalars, arrays), its local variables (loop iterators, 0-d temporaries, local arrays, substituted integer
constants, aliasing pointers) and the file-scope variables the region uses.

Aliasing policy: distinct array parameters (and distinct file-scope arrays) are assumed to be distinct
objects, as if declared `restrict` -- polyopt cannot see the call sites. What it can see, and rejects
with ScopReason.ALIASING, is a local pointer that names an array already known under another name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pycparser import c_ast

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason
from polyopt.expr import DType
from polyopt.frontend.c_expr import Diag, ExprLowerer, Symbols, cast
from polyopt.frontend.c_types import CType
from polyopt.frontend.tree import Argument, ArrayDecl

_PARAM_HINT = ("parameters may be arrays (double A[N][M], double A[n][m], double *x, float (*A)[M]), "
               "integer sizes or int/long/float/double scalars")


@dataclass(frozen=True)
class Region:
    """One `#pragma scop` ... `#pragma endscop` region: the statements between the pragmas."""

    function: c_ast.FuncDef
    items: tuple[c_ast.Node, ...]
    pragma: c_ast.Node
    name: str


@dataclass
class Facts(c_ast.NodeVisitor):
    """Names used, written, and used as loop iterators in a piece of code; right-hand sides by name."""

    used: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)
    iterators: set[str] = field(default_factory=set)
    assigned: dict[str, list[c_ast.Node]] = field(default_factory=dict)
    first_use: dict[str, c_ast.Node] = field(default_factory=dict)
    write_nodes: dict[str, c_ast.Node] = field(default_factory=dict)    # first write of each name

    def visit_ID(self, node: c_ast.ID) -> None:
        self.used.add(node.name)
        self.first_use.setdefault(node.name, node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        if isinstance(node.lvalue, c_ast.ID):
            self.written.add(node.lvalue.name)
            self.write_nodes.setdefault(node.lvalue.name, node)
            self.assigned.setdefault(node.lvalue.name, []).append(node.rvalue)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        if node.op in ("++", "--", "p++", "p--", "&") and isinstance(node.expr, c_ast.ID):
            self.written.add(node.expr.name)
            self.write_nodes.setdefault(node.expr.name, node)
        self.generic_visit(node)

    def visit_For(self, node: c_ast.For) -> None:
        if isinstance(node.init, c_ast.Assignment) and isinstance(node.init.lvalue, c_ast.ID):
            self.iterators.add(node.init.lvalue.name)
        elif isinstance(node.init, c_ast.DeclList):
            self.iterators.update(d.name for d in node.init.decls if d.name)
        self.generic_visit(node)

    skip: frozenset[int] = frozenset()

    def visit(self, node: c_ast.Node) -> None:
        if id(node) not in self.skip:
            super().visit(node)

    @staticmethod
    def of(nodes: tuple[c_ast.Node, ...], skip: tuple[c_ast.Node, ...] = ()) -> Facts:
        facts = Facts(skip=frozenset(id(n) for n in skip))
        for n in nodes:
            facts.visit(n)
        return facts


class Scope:
    """Builds the Symbols, the Argument list and the array declarations of one region."""

    def __init__(self, region: Region, ast: c_ast.FileAST, diag: Diag, typedefs: dict[str, c_ast.Node],
                 enums: dict[str, int]) -> None:
        self.region = region
        self.ast = ast
        self.diag = diag
        self.typedefs = typedefs
        self.sym = Symbols(enums=dict(enums))
        self.ex = ExprLowerer(self.sym, diag, typedefs)
        self.arguments: list[Argument] = []
        self.int_names: set[str] = set()          # names declared with an integer type
        self.in_region = Facts.of(region.items)
        self.in_function = Facts.of((region.function.body,))
        self.outside_written = Facts.of((region.function.body,), skip=region.items).written
        self.prologue: list[tuple[c_ast.Decl, X.Expr]] = []   # (declaration, initial value) of locals

    def error(self, reason: ScopReason, message: str, node: c_ast.Node, hint: str = "") -> ScopError:
        return self.diag.error(reason, message, node, hint)

    def build(self) -> None:
        self.parameters()
        declared = set(self.sym.params) | set(self.sym.scalars) | set(self.sym.arrays)
        local = self.local_decls()
        pointers: list[tuple[c_ast.Decl, CType]] = []
        for decl in local:
            if decl.name in self.in_region.used and decl.name not in declared:
                declared.add(decl.name)
                self.local(decl, pointers)
        for decl in self.global_decls():
            if decl.name in self.in_region.used and decl.name not in declared:
                declared.add(decl.name)
                self.global_(decl, pointers)
        for decl, _ in pointers:
            self.sym.pointers[decl.name] = self.alias_of(decl)

    # --- parameters -----------------------------------------------------------------------------
    def parameters(self) -> None:
        ftype = self.region.function.decl.type
        decls: list[tuple[c_ast.Decl, CType]] = []
        for p in (ftype.args.params if ftype.args is not None else []):
            if isinstance(p, c_ast.EllipsisParam):
                raise self.error(ScopReason.UNSUPPORTED_TYPE, "variadic function", p)
            if isinstance(p, c_ast.ID):
                raise self.error(ScopReason.UNSUPPORTED_TYPE, "K&R-style parameter list", p,
                                 "declare the parameter types in the prototype: void f(int n, double *x)")
            ctype = self.ex.ctype(p.type, p, getattr(p, "name", None) or "")
            if isinstance(p, c_ast.Typename) or not getattr(p, "name", None):
                if ctype.spelled == "void" and not ctype.layers:
                    continue
                raise self.error(ScopReason.UNSUPPORTED_TYPE, "unnamed parameter", p)
            decls.append((p, ctype))
        self.sym.params.update(p.name for p, t in decls if t.is_int)
        self.int_names.update(self.sym.params)
        for p, ctype in decls:
            self.argument(p, ctype)

    def argument(self, p: c_ast.Decl, ctype: CType) -> None:
        if ctype.is_int:
            self.arguments.append(Argument(p.name, "param", DType.INT64))
        elif ctype.is_scalar and ctype.dtype is not None:
            self.sym.scalars[p.name] = ctype.dtype
            self.arguments.append(Argument(p.name, "scalar", ctype.dtype))
        elif ctype.is_array and ctype.dtype is not None:
            self.sym.arrays[p.name] = ArrayDecl(p.name, ctype.dtype, self.shape(ctype, p), True)
            self.arguments.append(Argument(p.name, "array", ctype.dtype))
        else:
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"parameter '{p.name}' has an unsupported type "
                             f"({ctype.spelled}{' ' + '*' * ctype.layers.count('ptr') if ctype.layers else ''})",
                             p, _PARAM_HINT)

    def shape(self, ctype: CType, node: c_ast.Node) -> tuple[X.Expr | None, ...]:
        """Array extents: constants (macros are expanded) or affine expressions of size parameters."""
        out: list[X.Expr | None] = []
        for dim in ctype.extents():
            if dim is None:
                out.append(None)
                continue
            e = self.ex.expr(dim)
            bad = [v for v in X.walk(e) if isinstance(v, X.Access)
                   or (isinstance(v, X.Var) and v.name not in self.sym.params)]
            if bad:
                raise self.error(ScopReason.UNSUPPORTED_TYPE, f"array extent '{X.to_c(e)}' is not a constant "
                                 "or a size parameter", node, "declare sizes as int parameters or macros")
            out.append(e)
        return tuple(out)

    # --- locals and globals ---------------------------------------------------------------------
    def local_decls(self) -> list[c_ast.Decl]:
        """Declarations in the function body outside the region, in textual order."""
        inside = {id(n) for item in self.region.items for n in _nodes(item)}
        return [n for n in _nodes(self.region.function.body)
                if isinstance(n, c_ast.Decl) and n.name and id(n) not in inside]

    def global_decls(self) -> list[c_ast.Decl]:
        return [d for d in self.ast.ext if isinstance(d, c_ast.Decl) and d.name
                and not isinstance(d.type, c_ast.FuncDecl)]

    def local(self, decl: c_ast.Decl, pointers: list[tuple[c_ast.Decl, CType]]) -> None:
        ctype = self.ex.ctype(decl.type, decl, decl.name)
        if self.iterator(decl, ctype):
            return
        if ctype.is_pointer:
            pointers.append((decl, ctype))
            return
        if ctype.is_scalar:
            self.local_scalar(decl, ctype)
            return
        self.local_array(decl, ctype, is_argument=False)

    def local_scalar(self, decl: c_ast.Decl, ctype: CType) -> None:
        """A scalar of the function: its constant initializer is substituted when it is never written
        again, or becomes the region's first statement when only the region writes it."""
        name = decl.name
        value = self.constant_value(decl.init, ctype) if decl.init is not None else None
        if value is not None and name not in self.in_function.written:
            self.sym.values[name] = value
            return
        if name not in self.in_region.written:
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"the value of the local variable '{name}' is "
                             "computed before the SCoP", self.in_region.first_use[name],
                             "initialise it inside the #pragma scop region, or make it a parameter")
        self.local_array(decl, ctype, is_argument=False)
        if value is not None and name not in self.outside_written:
            self.prologue.append((decl, value))

    def global_(self, decl: c_ast.Decl, pointers: list[tuple[c_ast.Decl, CType]]) -> None:
        """A file-scope variable becomes an extra argument (appended after the signature's)."""
        ctype = self.ex.ctype(decl.type, decl, decl.name)
        if self.iterator(decl, ctype):
            return
        if ctype.is_scalar and "const" in decl.quals and decl.init is not None:
            value = self.constant_value(decl.init, ctype)
            if value is not None:
                self.sym.values[decl.name] = value
                return
        written = decl.name in self.in_region.written
        if ctype.is_int and not written:
            self.sym.params.add(decl.name)
            self.argument(decl, ctype)
        elif ctype.is_scalar and not written:
            self.argument(decl, ctype)
        elif ctype.is_scalar or ctype.is_array:
            self.local_array(decl, ctype, is_argument=True)
            assert ctype.dtype is not None
            self.arguments.append(Argument(decl.name, "array", ctype.dtype))
        else:
            pointers.append((decl, ctype))

    def iterator(self, decl: c_ast.Decl, ctype: CType) -> bool:
        if decl.name not in self.in_region.iterators:
            return False
        if not ctype.is_int:
            raise self.error(ScopReason.BAD_LOOP, f"loop iterator '{decl.name}' is not an integer", decl,
                             "declare loop iterators as int or long")
        self.sym.iterators.add(decl.name)
        self.int_names.add(decl.name)
        return True

    def local_array(self, decl: c_ast.Decl, ctype: CType, *, is_argument: bool) -> None:
        if ctype.dtype is None or not (ctype.is_scalar or ctype.is_array):
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"'{decl.name}' has an unsupported type "
                             f"({ctype.spelled})", decl, "use int, long, float or double scalars and arrays")
        if ctype.is_int:
            self.int_names.add(decl.name)
        shape = self.shape(ctype, decl)
        self.sym.arrays[decl.name] = ArrayDecl(decl.name, ctype.dtype, shape, is_argument)

    def constant_value(self, init: c_ast.Node, ctype: CType) -> X.Expr | None:
        """The value of an initializer made of constants, size parameters and (for a floating variable)
        scalar arguments, converted to the variable's type; None if it is anything else."""
        try:
            e = self.ex.expr(init)
        except ScopError:
            return None
        names = self.sym.params | (set(self.sym.scalars) if not ctype.is_int else set())
        if any(isinstance(v, X.Access) or (isinstance(v, X.Var) and v.name not in names) for v in X.walk(e)):
            return None
        assert ctype.dtype is not None
        if ctype.dtype.is_float and self.ex.dtype_of(e) != ctype.dtype:
            e = cast(ctype.dtype, e)
        return e

    def alias_of(self, decl: c_ast.Decl) -> str:
        """The array a local pointer is set from (its initializer or any assignment to it), or ''."""
        sources = ([decl.init] if decl.init is not None else []) + self.in_function.assigned.get(decl.name, [])
        for src in sources:
            for n in _nodes(src):
                if isinstance(n, c_ast.ID) and n.name != decl.name and (
                        n.name in self.sym.pointers or (n.name in self.sym.arrays
                                                        and self.sym.arrays[n.name].shape)):
                    return n.name
        return ""


def _nodes(node: c_ast.Node) -> Iterator[c_ast.Node]:
    """Every node under `node` (pre-order, including it)."""
    yield node
    for _, child in node.children():
        yield from _nodes(child)
