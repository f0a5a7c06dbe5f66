"""Scenario files, safe YAML: untrusted text in, plain data and line numbers out.

Scenario files travel between people, so the reader is defensive: safe YAML only (a
``!!python/...`` tag is an error, never executed), duplicate keys rejected, files over
:data:`MAX_BYTES` rejected, and alias expansion bounded (a "billion laughs" file is rejected
before anything is built from it). It also records the line of every key path, so that later
errors can point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mcsim.data.files import check_regular_file
from mcsim.errors import ScenarioError

MAX_BYTES = 1_000_000  # [bytes] largest scenario file accepted
MAX_ALIASES = 100  # alias references (*name) allowed in one file
MAX_NODES = 100_000  # YAML nodes after alias expansion (a billion-laughs guard)
MAX_DEPTH = 64  # nesting levels (a scenario needs 5; thousands would exhaust the stack)


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases and rejects duplicate mapping keys."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.aliases = 0
        self.depth = 0  # nesting of the node being composed
        self.mapping_paths: dict[int, tuple[Any, ...]] = {}  # id(mapping node) -> key path

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ScenarioError(
                    f"more than {MAX_ALIASES} alias references (*name); "
                    "expected a plain scenario, not an alias expansion",
                    path=self.source,
                    row=mark.line + 1,
                )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise ScenarioError(
                f"nested deeper than {MAX_DEPTH} levels; expected a plain scenario",
                path=self.source,
                row=mark.line + 1,
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Keys written in this mapping must be distinct; keys merged in with "<<: *defaults"
        # (YAML merge keys) may be overridden by them, as YAML specifies.
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it below
            if first != key_node.start_mark.line + 1:
                where = (*self.mapping_paths.get(id(node), ()), key)
                raise ScenarioError(
                    f"duplicate key {key!r} (first given on line {first}); expected each key once",
                    path=self.source,
                    row=key_node.start_mark.line + 1,
                    column=key_path(where),
                )
        self.flatten_mapping(node)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree after alias expansion (shared subtrees counted every time)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as a leaf rather than looping
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(_expanded_size(v, memo) for v in node.value)
        else:
            size = 1
        memo[key] = min(size, MAX_NODES + 1)
    return memo[key]


def _index(
    node: yaml.Node,
    path: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    mapping_paths: dict[int, tuple[Any, ...]],
) -> None:
    """Record key path -> 1-based line for every mapping key and sequence item, and the key
    path of every mapping node (so errors found while constructing can name it)."""
    if isinstance(node, yaml.MappingNode):
        mapping_paths.setdefault(id(node), path)
        for key, value in node.value:
            child = (*path, key.value if isinstance(key, yaml.ScalarNode) else str(key))
            lines.setdefault(child, key.start_mark.line + 1)
            _index(value, child, lines, mapping_paths)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            lines.setdefault((*path, i), value.start_mark.line + 1)
            _index(value, (*path, i), lines, mapping_paths)


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Safely read a scenario file: (top-level mapping, key path -> line).

    Raises:
        ScenarioError: missing, oversized, not UTF-8, not YAML, unsafe tags, duplicate keys,
            alias bombs, or a top level that is not a mapping.
    """
    source = str(path)
    check_regular_file(path, max_bytes=MAX_BYTES, expected="a YAML scenario", error=ScenarioError)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError("is not UTF-8 text; expected a YAML scenario", path=source) from exc
    loader = _Loader(text, source)
    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(
                "file is empty; expected a YAML mapping of scenario keys", path=source
            )
        if _expanded_size(node, {}) > MAX_NODES:
            raise ScenarioError(
                f"aliases expand to more than {MAX_NODES:,} nodes; expected a "
                "plain scenario (is this a 'billion laughs' file?)",
                path=source,
            )
        _index(node, (), lines, loader.mapping_paths)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"{exc.context + ': ' if exc.context else ''}{exc.problem}"
        if "could not determine a constructor" in str(exc.problem):
            problem = (
                f"unsupported tag {str(exc.problem).split('tag ')[-1]}; expected plain YAML "
                "(tags such as !!python/... are never executed)"
            )
        row = None if mark is None else mark.line + 1
        # The deepest mapping key on that line (known once the file is composed).
        on_row = [k for k, line in lines.items() if line == row and not isinstance(k[-1], int)]
        raise ScenarioError(
            f"invalid YAML: {problem}",
            path=source,
            row=row,
            column=key_path(max(on_row, key=len)) if on_row else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", path=source) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(
            f"top level is a {type(data).__name__}; expected a mapping of "
            "scenario keys (seed, trace, tasks, policies, ...)",
            path=source,
        )
    return data, lines


def key_path(loc: tuple[Any, ...]) -> str:
    """``('policies', 2, 'name')`` -> ``policies[2].name``; a mapping's bad key is named by
    itself (pydantic's ``('tasks', 'contexts', 'gait', '[key]')`` -> ``tasks.contexts.gait``)."""
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
