"""The C frontend: `#pragma scop` ... `#pragma endscop` regions of C functions -> KernelSource -> Scop.

Pipeline: the system C preprocessor (with polyopt's minimal libc headers, see c_preprocess) -> pycparser ->
find the pragma regions (c_lower.find_regions) -> resolve names (c_scope) -> lower statements and
expressions (c_lower, c_expr) -> polyopt.builder.build_scop, which checks affinity.

What a region may contain: counted `for` loops (`i = lb; i < ub && ...; i++ / i-- / i += c / i = i + c`),
`if`/`else`, assignments (`=`, `+=`, `-=`, `*=`, `/=`, `%=`, `x++`), declarations of local scalars and
arrays, and expressions over array elements, integer sizes, float scalars, math.h functions, casts and
`?:` (integer `a < b ? a : b` becomes min/max, so min/max macros in bounds stay affine).
Integer parameters are size parameters; float/double parameters are scalars; array and pointer parameters
are arrays, assumed not to alias each other (polyopt cannot see the callers). Local integer variables
initialised from constants and sizes, and never written, are replaced by their value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pycparser import c_ast
from pycparser.c_parser import CParser, ParseError

from polyopt.builder import build_scop
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.frontend.c_expr import Diag
from polyopt.frontend.c_lower import RegionLowerer, find_regions
from polyopt.frontend.c_preprocess import CSource, SourceLines, load_source, preprocess
from polyopt.frontend.c_scope import Region
from polyopt.frontend.c_types import collect_enums, collect_typedefs
from polyopt.frontend.tree import KernelSource
from polyopt.model import Scop

__all__ = ["c_kernel_source", "c_kernel_sources", "from_c", "from_c_all"]

PathOrText = str | os.PathLike[str]
_PARSE_ERROR = re.compile(r"^(?P<file>.*?):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<msg>.*)$", re.DOTALL)


def from_c(path_or_text: PathOrText, function: str | None = None, *, defines: dict[str, str] | None = None,
           include_dirs: Iterable[str | os.PathLike[str]] = ()) -> Scop:
    """The Scop of the single `#pragma scop` region (or of the one in `function`)."""
    return build_scop(c_kernel_source(path_or_text, function, defines=defines, include_dirs=include_dirs))


def from_c_all(path_or_text: PathOrText, *, defines: dict[str, str] | None = None,
               include_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[Scop]:
    """The Scops of every `#pragma scop` region, in file order."""
    return [build_scop(k) for k in c_kernel_sources(path_or_text, defines=defines, include_dirs=include_dirs)]


def c_kernel_source(path_or_text: PathOrText, function: str | None = None, *,
                    defines: dict[str, str] | None = None,
                    include_dirs: Iterable[str | os.PathLike[str]] = ()) -> KernelSource:
    """The loop tree of one region, before the model is built (see from_c)."""
    parsed = _parse(path_or_text, defines, include_dirs)
    region = _select(parsed, find_regions(parsed.ast, parsed.diag), function)
    return parsed.lower(region)


def c_kernel_sources(path_or_text: PathOrText, *, defines: dict[str, str] | None = None,
                     include_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[KernelSource]:
    """The loop trees of every region (NO_SCOP if there is none)."""
    parsed = _parse(path_or_text, defines, include_dirs)
    regions = find_regions(parsed.ast, parsed.diag)
    if not regions:
        raise _no_region(parsed)
    return [parsed.lower(r) for r in regions]


@dataclass(frozen=True)
class _Parsed:
    source: CSource
    ast: c_ast.FileAST
    diag: Diag
    typedefs: dict[str, c_ast.Node]
    enums: dict[str, int]

    def lower(self, region: Region) -> KernelSource:
        lowerer = RegionLowerer(region, self.ast, self.diag, self.typedefs, self.enums)
        return lowerer.lower(self.source.name, self.source.text)


def _parse(path_or_text: PathOrText, defines: dict[str, str] | None,
           include_dirs: Iterable[str | os.PathLike[str]]) -> _Parsed:
    src = load_source(path_or_text)
    text = preprocess(src, defines, tuple(os.fspath(d) for d in include_dirs))
    diag = Diag(SourceLines(src))
    parser = CParser()
    try:
        ast = parser.parse(text, src.name)
    except ParseError as e:
        raise _syntax_error(e, parser, diag) from None
    return _Parsed(src, ast, diag, collect_typedefs(ast), collect_enums(ast))


def _syntax_error(e: ParseError, parser: CParser, diag: Diag) -> ScopError:
    """A ScopError(SYNTAX) at the original line of a pycparser error."""
    message = str(e)
    m = _PARSE_ERROR.match(message)
    file, line, col = (m["file"], int(m["line"]), int(m["col"] or 0)) if m else (None, 0, 0)
    if m:
        message = m["msg"]
    else:
        try:   # errors without a line: the token the parser stopped at (private API, best effort)
            tok = parser._peek()
            coord = parser._tok_coord(tok) if tok is not None else None
            file, line, col = coord.file, coord.line, coord.column or 0
            message = message.split(": ", 1)[-1]
        except (AttributeError, TypeError, ParseError):  # pragma: no cover - pycparser internals
            file, line, col = None, 0, 0
    name = diag.lines.file_name(file)
    loc = SourceLocation(name, line, col)
    text = diag.lines.line(name, line)
    hint = ("is a macro or type undefined? pass defines={...} or include_dirs=[...] "
            "(on the command line: -D NAME=VALUE, -I DIR)")
    if line > 1 and col and diag.lines.raw_line(name, line)[:col - 1].strip() in ("", "#"):
        # the parser stops at the next token: a ';' or ')' missing at the end of the line before
        hint = f"look for a missing ';' or ')' at the end of line {line - 1}; or: {hint}"
    return ScopError(ScopReason.SYNTAX, f"C syntax error: {message}", location=loc, text=text, hint=hint)


def _select(parsed: _Parsed, regions: list[Region], function: str | None) -> Region:
    chosen = regions
    if function is not None:
        chosen = [r for r in regions if function in (r.function.decl.name, r.name)]
        if not chosen:
            functions = [e.decl.name for e in parsed.ast.ext if isinstance(e, c_ast.FuncDef)]
            if function in functions:
                raise ScopError(ScopReason.NO_SCOP, f"function '{function}' has no '#pragma scop' region",
                                location=SourceLocation(parsed.source.name),
                                hint="put #pragma scop before its loop nest and #pragma endscop after it")
            raise ScopError(ScopReason.NO_SCOP, f"no function named '{function}'",
                            location=SourceLocation(parsed.source.name), hint=_candidates(parsed, regions))
    if not chosen:
        raise _no_region(parsed)
    if len(chosen) > 1:
        what = f"function '{function}' has" if function else "the file has"
        raise ScopError(ScopReason.NO_SCOP, f"{what} {len(chosen)} '#pragma scop' regions; choose one with "
                        "function= (--function on the command line)", location=SourceLocation(parsed.source.name),
                        hint=_candidates(parsed, chosen))
    return chosen[0]


def _candidates(parsed: _Parsed, regions: list[Region]) -> str:
    if not regions:
        return "the file has no '#pragma scop' region"
    where = [f"{r.name} ({parsed.diag.where(r.pragma)[0]})" for r in regions]
    return "candidates: " + ", ".join(where)


def _no_region(parsed: _Parsed) -> ScopError:
    return ScopError(ScopReason.NO_SCOP, "no '#pragma scop' region found",
                     location=SourceLocation(parsed.source.name),
                     hint="put #pragma scop on the line before the loop nest and #pragma endscop after it")
