"""C declarators as polyopt sees them: an element type and a list of array / pointer layers."""

from __future__ import annotations

from dataclasses import dataclass

from pycparser import c_ast

from polyopt.expr import DType

_EXACT_INT_WORDS = frozenset({"int", "signed", "long"})     # int32 and int64 (LP64), as C spells them
_ARITH_WORDS = frozenset({"char", "short", "int", "long", "signed", "unsigned", "float", "double", "_Bool",
                          "_Complex"})
UNSUPPORTED_HINT = ("polyopt's types are int (int32_t), long (int64_t), float, double and _Bool; it has no "
                    "unsigned, char or short types, whose wrap-around, width and division it would get "
                    "wrong: use one of its types (convert the data before the call)")


@dataclass(frozen=True)
class CType:
    """A declarator: `dtype` is the scalar or element type (None: struct, void, function ...);
    `layers` lists 'ptr' and array extents (a pycparser node, None for `[]`), outermost first."""

    dtype: DType | None
    layers: tuple[c_ast.Node | str | None, ...] = ()
    spelled: str = ""
    arithmetic: bool = False      # a C arithmetic type, even one without a DType (unsigned int, char ...)

    @property
    def unsupported(self) -> bool:
        """An arithmetic type that polyopt cannot represent exactly (see UNSUPPORTED_HINT)."""
        return self.arithmetic and self.dtype is None

    @property
    def is_scalar(self) -> bool:
        return self.dtype is not None and not self.layers

    @property
    def is_pointer(self) -> bool:
        return "ptr" in self.layers

    @property
    def is_int(self) -> bool:
        return self.is_scalar and self.dtype in (DType.INT32, DType.INT64, DType.BOOL)

    @property
    def is_array(self) -> bool:
        """An array or a pointer to (arrays of) elements: at most one pointer level, outermost."""
        return (self.dtype is not None and bool(self.layers)
                and all(x != "ptr" for x in self.layers[1:]))

    def extents(self) -> tuple[c_ast.Node | None, ...]:
        """Array extents, None for the unknown leading extent of a pointer or `[]`."""
        return tuple(None if x == "ptr" else x for x in self.layers)  # type: ignore[misc]


def describe(node: c_ast.Node, typedefs: dict[str, c_ast.Node]) -> CType:
    """The CType of a declaration's `type` (TypeDecl / PtrDecl / ArrayDecl / FuncDecl / Typename)."""
    layers: list[c_ast.Node | str | None] = []
    seen: set[str] = set()
    while True:
        if isinstance(node, c_ast.Typename):
            node = node.type
        elif isinstance(node, c_ast.PtrDecl):
            layers.append("ptr")
            node = node.type
        elif isinstance(node, c_ast.ArrayDecl):
            layers.append(node.dim)
            node = node.type
        elif isinstance(node, c_ast.TypeDecl):
            inner = node.type
            if isinstance(inner, c_ast.IdentifierType):
                name = " ".join(inner.names)
                if len(inner.names) == 1 and name in typedefs and name not in seen:
                    seen.add(name)
                    node = typedefs[name]
                    continue
                return CType(base_dtype(inner.names), tuple(layers), name, set(inner.names) <= _ARITH_WORDS)
            if isinstance(inner, c_ast.Enum):
                return CType(DType.INT32, tuple(layers), "enum")
            return CType(None, tuple(layers), type(inner).__name__.lower())
        else:
            return CType(None, tuple(layers), "function" if isinstance(node, c_ast.FuncDecl) else "?")


def base_dtype(names: list[str]) -> DType | None:
    """The DType of a list of C type specifier words (`long int`, `double` ...), None for types without
    an exact DType (unsigned, char, short, long double, _Complex, structs ...)."""
    words = set(names)
    if words == {"double"}:
        return DType.FLOAT64
    if words == {"float"}:
        return DType.FLOAT32
    if words == {"_Bool"}:
        return DType.BOOL
    if words and words <= _EXACT_INT_WORDS:
        return DType.INT64 if "long" in words else DType.INT32
    return None


def collect_typedefs(ast: c_ast.FileAST) -> dict[str, c_ast.Node]:
    """File-scope typedef name -> its type node."""
    return {d.name: d.type for d in ast.ext if isinstance(d, c_ast.Typedef)}


def collect_enums(ast: c_ast.Node) -> dict[str, int]:
    """Enumerator constants with explicit or implicit integer values (others are skipped)."""
    out: dict[str, int] = {}

    class Visitor(c_ast.NodeVisitor):
        def visit_Enum(self, node: c_ast.Enum) -> None:
            value = 0
            for e in (node.values.enumerators if node.values else []):
                if isinstance(e.value, c_ast.Constant) and e.value.type == "int":
                    value = int_literal(e.value.value)
                elif e.value is not None:
                    continue
                out[e.name] = value
                value += 1
    Visitor().visit(ast)
    return out


def int_literal(text: str) -> int:
    """The value of a C integer literal (decimal, hex, octal, binary; suffixes ignored)."""
    digits = text.rstrip("uUlL")
    low = digits.lower()
    if low.startswith("0x"):
        return int(low, 16)
    if low.startswith("0b"):
        return int(low, 2)
    if len(low) > 1 and low.startswith("0"):
        return int(low, 8)
    return int(low)


def float_literal(text: str) -> tuple[float, DType]:
    """The value and type of a C floating literal (`1.0`, `1e-3f`, `0x1p3`, `2.L`)."""
    low = text.lower()
    is_hex = low.startswith("0x")
    suffix = low[-1] if low[-1] in "fl" and (not is_hex or "p" in low) else ""
    body = text[:-1] if suffix else text
    value = float.fromhex(body) if is_hex else float(body)
    return value, DType.FLOAT32 if suffix == "f" else DType.FLOAT64
