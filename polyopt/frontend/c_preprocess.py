"""Loading and preprocessing C input for the C frontend.

The system preprocessor (cpp, gcc -E or clang -E) expands macros and includes and keeps `#pragma` lines and
line markers, so every node pycparser builds knows its original file and line. System headers are never
read: `-nostdinc` plus polyopt's own minimal headers (fake_libc/, first on the include path) keep compiler
extensions away from pycparser.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from polyopt.errors import BackendUnavailableError, ScopError, ScopReason, SourceLocation

FAKE_LIBC = Path(__file__).with_name("fake_libc")
STRING_FILE = "<string>"
_STDIN_NAMES = ("<stdin>", "-")

# Compiler extensions that user code (not headers: those are ours) may still spell out.
_EXTENSION_DEFINES = (
    "__attribute__(x)=", "__extension__=", "__restrict=restrict", "__restrict__=restrict",
    "__inline=inline", "__inline__=inline", "__asm__(x)=", "__asm(x)=", "__volatile__=volatile",
    "__const=const", "__signed__=signed", "__builtin_va_list=int", "_Float128=double", "__float128=double",
    "_Noreturn=", "__declspec(x)=", "__forceinline=inline",
)
_CPP_ERROR = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:fatal\s+)?error:\s*(?P<msg>.*)$")
_TIMEOUT_S = 60


@dataclass(frozen=True)
class CSource:
    """One C input: the name used in locations (the path as given, or '<string>') and its text."""

    name: str
    text: str
    is_file: bool


def load_source(path_or_text: str | os.PathLike[str]) -> CSource:
    """A path-like, or a string naming an existing file, is read; any other string is C source text."""
    if isinstance(path_or_text, os.PathLike):
        path = os.fspath(path_or_text)
        return CSource(path, Path(path).read_text(errors="replace"), True)
    if "\n" not in path_or_text and os.path.isfile(path_or_text):
        return CSource(path_or_text, Path(path_or_text).read_text(errors="replace"), True)
    return CSource(STRING_FILE, path_or_text, False)


@dataclass
class SourceLines:
    """Original source lines by (file, line), to quote the offending text in errors and nodes."""

    source: CSource
    _cache: dict[str, list[str]] = field(default_factory=dict)

    def file_name(self, raw: str | None) -> str:
        """The location file name of a line-marker file name."""
        if raw is None or raw in _STDIN_NAMES:
            return self.source.name
        return raw

    def line(self, file: str, line: int) -> str:
        return self.raw_line(file, line).strip()

    def raw_line(self, file: str, line: int) -> str:
        """The line as written (indentation kept); '' when there is no such line."""
        lines = self._cache.get(file)
        if lines is None:
            if file == self.source.name:
                lines = self.source.text.splitlines()
            else:
                try:
                    lines = Path(file).read_text(errors="replace").splitlines()
                except OSError:
                    lines = []
            self._cache[file] = lines
        return lines[line - 1] if 0 < line <= len(lines) else ""


def preprocess(src: CSource, defines: dict[str, str] | None, include_dirs: tuple[str, ...]) -> str:
    """The preprocessed text of `src`, with line markers and `#pragma` lines kept."""
    command = _preprocessor()
    if command is None:
        if _only_pragmas(src.text):
            return f'# 1 "{src.name}"\n{src.text}'
        raise BackendUnavailableError("no C preprocessor found (looked for cpp, gcc, clang, cc); install "
                                      "gcc or clang, e.g. `apt-get install cpp`")
    args = [*command, "-nostdinc", "-undef", "-std=c11", "-x", "c", f"-I{FAKE_LIBC}"]
    args += [f"-I{os.fspath(d)}" for d in include_dirs]
    args += [f"-D{d}" for d in _EXTENSION_DEFINES]
    args += [f"-D{k}={v}" for k, v in (defines or {}).items()]
    args.append(src.name if src.is_file else "-")
    try:
        done = subprocess.run(args, input=None if src.is_file else src.text, capture_output=True, text=True,
                              errors="replace", timeout=_TIMEOUT_S, check=False)   # non-UTF-8 literals
    except subprocess.TimeoutExpired:
        raise ScopError(ScopReason.SYNTAX, "the C preprocessor did not finish",
                        location=SourceLocation(src.name), hint="look for recursive includes") from None
    if done.returncode != 0:
        raise _cpp_error(src, done.stderr)
    return done.stdout


def _preprocessor() -> list[str] | None:
    if shutil.which("cpp"):
        return ["cpp"]
    for compiler in ("gcc", "clang", "cc"):
        if shutil.which(compiler):
            return [compiler, "-E"]
    return None


def _only_pragmas(text: str) -> bool:
    """True if the only preprocessor directives are #pragma lines (the text parses without cpp)."""
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("#") and not stripped[1:].lstrip().startswith("pragma"):
            return False
    return True


def _cpp_error(src: CSource, stderr: str) -> ScopError:
    """Translate the first error the preprocessor reports (missing include, #error ...)."""
    lines = SourceLines(src)
    for raw in stderr.splitlines():
        m = _CPP_ERROR.match(raw.strip())
        if m:
            file = lines.file_name(m["file"])
            line = int(m["line"])
            loc = SourceLocation(file, line, int(m["col"] or 0))
            hint = ("pass include_dirs=[...] (-I DIR on the command line) for your own headers; "
                    "system headers are replaced by "
                    f"polyopt's minimal ones in {FAKE_LIBC}") if "No such file" in m["msg"] else ""
            return ScopError(ScopReason.SYNTAX, f"C preprocessor: {m['msg']}", location=loc,
                             text=lines.line(file, line), hint=hint)
    return ScopError(ScopReason.SYNTAX, f"C preprocessor failed: {stderr.strip()[:500]}",
                     location=SourceLocation(src.name))
