"""Hypothesis strategies for replies: JSON a response type accepts, as Stytch would send
it, and the same with one place dropped, replaced by any JSON, or given a new key."""

from __future__ import annotations

import copy
import typing
from datetime import datetime
from types import NoneType, UnionType
from typing import Any

import attrs
import hypothesis.strategies as st

__all__ = ["JSON", "mutated", "valid"]

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "not a date"]),
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def valid(kind: Any) -> st.SearchStrategy[Any]:
    """JSON that the type accepts, as Stytch would send it."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is str:
        return st.text(max_size=12)
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(0, 600)
    if kind is datetime:
        return st.sampled_from(["2026-01-01T00:00:00Z", "2027-06-30T12:34:56+02:00"])
    if origin is UnionType or origin is typing.Union:
        (inner,) = (arg for arg in args if arg is not NoneType)
        extra = st.just("") if inner is datetime else st.nothing()
        return st.none() | extra | valid(inner)
    if origin is tuple:
        return st.none() | st.lists(valid(args[0]), max_size=3)
    if attrs.has(kind):
        hints = typing.get_type_hints(kind)
        required = {f.name: valid(hints[f.name]) for f in attrs.fields(kind) if not _optional(f)}
        optional = {f.name: valid(hints[f.name]) for f in attrs.fields(kind) if _optional(f)}
        return st.fixed_dictionaries(required, optional=optional)
    raise AssertionError(f"no strategy for {kind!r}")


def _optional(field: attrs.Attribute[Any]) -> bool:
    return field.default is not attrs.NOTHING


def _places(node: Any, into: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) inside `node`; (dict, None) stands for a new key."""
    if isinstance(node, dict):
        into.extend((node, key) for key in node)
        into.append((node, None))
        for child in node.values():
            _places(child, into)
    elif isinstance(node, list):
        into.extend((node, index) for index in range(len(node)))
        for child in node:
            _places(child, into)
    return into


@st.composite
def mutated(draw: st.DrawFn, value: Any, extra: st.SearchStrategy[Any] | None = None) -> Any:
    """`value` with one place inside it dropped, replaced by any JSON (or, sometimes, a
    value of `extra`), or given a key."""
    anything = JSON if extra is None else JSON | extra
    copied = copy.deepcopy(value)
    places = _places(copied, [])
    if not places:
        return draw(JSON)
    node, key = draw(st.sampled_from(places))
    action = draw(st.sampled_from(["drop", "replace", "add"]))
    if key is None or action == "add":
        if isinstance(node, dict):
            node[draw(st.text(max_size=6))] = draw(anything)
    elif action == "drop":
        del node[key]
    else:
        node[key] = draw(anything)
    return copied
