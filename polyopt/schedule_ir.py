"""A plain, immutable mirror of an isl schedule tree, and its exact conversion to and from isl.

isl's own constructors flatten nested sequences (`Schedule.sequence`) and offer no way to graft an
arbitrary subtree, so restructuring transformations (fusion, distribution) and the original schedule
are written against this mirror and turned back into an isl tree through isl's textual (YAML) form,
which keeps every node exactly where it was put. Every node holds isl objects as text, so the mirror
is hashable and independent of any isl context.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl


@dataclass(frozen=True)
class Leaf:
    """The end of a branch: the statement instances that reach it are executed here."""


@dataclass(frozen=True)
class Band:
    """A band: `schedule` is the text of a MultiUnionPwAff with one entry per member."""

    schedule: str
    child: Node
    permutable: bool = False
    coincident: tuple[bool, ...] = ()
    options: str = ""


@dataclass(frozen=True)
class Filter:
    """A filter (the child of a sequence or set node): only instances in `filter` go on."""

    filter: str
    child: Node


@dataclass(frozen=True)
class Sequence:
    """Children run one after another, in this order."""

    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Set:
    """Children run in any order (isl's set node)."""

    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Mark:
    """An annotation (see polyopt.codegen.loop_ast's mark convention)."""

    name: str
    child: Node


Node = Leaf | Band | Filter | Sequence | Set | Mark


@dataclass(frozen=True)
class Tree:
    """A whole schedule tree: the domain (as text) and the node below the domain node."""

    domain: str
    root: Node


def from_isl(schedule: isl.Schedule) -> Tree:
    """The mirror of an isl schedule tree (only domain, band, filter, sequence, set, mark, leaf)."""
    root = schedule.get_root()
    if root.get_type() != isl.schedule_node_type.domain:
        raise ValueError("schedule tree without a domain root")
    child = _node(root.child(0)) if root.n_children() else Leaf()
    return Tree(str(root.domain_get_domain()), child)


def _node(n: isl.ScheduleNode) -> Node:
    t = n.get_type()
    if t == isl.schedule_node_type.leaf:
        return Leaf()
    if t == isl.schedule_node_type.band:
        options = n.band_get_ast_build_options()
        return Band(str(n.band_get_partial_schedule()), _node(n.child(0)), bool(n.band_get_permutable()),
                    tuple(bool(n.band_member_get_coincident(i)) for i in range(n.band_n_member())),
                    "" if options.is_empty() else str(options))
    if t == isl.schedule_node_type.filter:
        return Filter(str(n.filter_get_filter()), _node(n.child(0)))
    if t in (isl.schedule_node_type.sequence, isl.schedule_node_type.set):
        kids = tuple(_node(n.child(i)) for i in range(n.n_children()))
        assert all(isinstance(k, Filter) for k in kids)
        return (Sequence if t == isl.schedule_node_type.sequence else Set)(kids)  # type: ignore[arg-type]
    if t == isl.schedule_node_type.mark:
        return Mark(n.mark_get_id().get_name(), _node(n.child(0)))
    raise ValueError(f"unsupported schedule tree node type {t}")


def to_isl(tree: Tree) -> isl.Schedule:
    """The isl schedule tree of a mirror (exact: no flattening or reordering)."""
    text = f"{{ domain: {_q(tree.domain)}{_child_text(tree.root)} }}"
    return isl.Schedule(text)


def _q(text: str) -> str:
    assert '"' not in text
    return '"' + text + '"'


def _child_text(n: Node) -> str:
    if isinstance(n, Leaf):
        return ""
    return ", child: " + _text(n)


def _text(n: Node) -> str:
    if isinstance(n, Band):
        parts = [f"schedule: {_q(n.schedule)}"]
        if n.permutable:
            parts.append("permutable: 1")
        if n.coincident and any(n.coincident):
            parts.append(f"coincident: [ {', '.join('1' if c else '0' for c in n.coincident)} ]")
        if n.options:
            parts.append(f"options: {_q(n.options)}")
        return "{ " + ", ".join(parts) + _child_text(n.child) + " }"
    if isinstance(n, Filter):
        return "{ filter: " + _q(n.filter) + _child_text(n.child) + " }"
    if isinstance(n, (Sequence, Set)):
        key = "sequence" if isinstance(n, Sequence) else "set"
        return f"{{ {key}: [ {', '.join(_text(c) for c in n.children)} ] }}"
    if isinstance(n, Mark):
        return "{ mark: " + _q(n.name) + _child_text(n.child) + " }"
    raise ValueError(f"cannot print {n!r}")


def child_of(n: Node, i: int) -> Node:
    """The i-th child of a node (IndexError when there is none)."""
    if isinstance(n, (Sequence, Set)):
        return n.children[i]
    if isinstance(n, (Band, Filter, Mark)) and i == 0:
        return n.child
    raise IndexError(i)


def replace_child(n: Node, i: int, new: Node) -> Node:
    """The node with its i-th child replaced."""
    if isinstance(n, (Sequence, Set)):
        assert isinstance(new, Filter)
        kids = list(n.children)
        kids[i] = new
        return type(n)(tuple(kids))
    if isinstance(n, Band) and i == 0:
        return Band(n.schedule, new, n.permutable, n.coincident, n.options)
    if isinstance(n, Filter) and i == 0:
        return Filter(n.filter, new)
    if isinstance(n, Mark) and i == 0:
        return Mark(n.name, new)
    raise IndexError(i)


def skip_marks(n: Node) -> Node:
    while isinstance(n, Mark):
        n = n.child
    return n


def get(tree: Tree, path: tuple[int, ...]) -> Node:
    """The node at a path (child indices from the domain; mark nodes are skipped, not counted)."""
    n = skip_marks(tree.root)
    for i in path[1:] if path and path[0] == 0 else _bad(path):
        n = skip_marks(child_of(n, i))
    return n


def _bad(path: tuple[int, ...]) -> tuple[int, ...]:
    raise IndexError(f"path {path} does not start at the domain's only child (0)")


def put(tree: Tree, path: tuple[int, ...], new: Node) -> Tree:
    """The tree with the node at `path` (below any marks above it) replaced by `new`."""
    if not path or path[0] != 0:
        _bad(path)

    def rec(n: Node, rest: tuple[int, ...]) -> Node:
        if isinstance(n, Mark):
            return Mark(n.name, rec(n.child, rest))
        if not rest:
            return new
        return replace_child(n, rest[0], rec(child_of(n, rest[0]), rest[1:]))
    return Tree(tree.domain, rec(tree.root, path[1:]))
