"""YAML and JSON as users write them: no alias bombs, no duplicate keys, bounded nesting, lines in messages."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from eitest.reading.text import ReadError, read_text

# Deeper than any instrument, norm or study needs; shallow enough that validation,
# hashing and JSON encoding downstream never meet Python's recursion limit.
MAX_DEPTH = 100


@functools.cache
def _yaml_loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster

    class Loader(base):  # type: ignore[misc, valid-type]
        """The safe loader, refusing a mapping that names a key twice (the last one would win unseen)."""

        source = "<yaml>"

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                first: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    line = key_node.start_mark.line + 1
                    if key in first:
                        raise ReadError.one(
                            self.source,
                            f"line {line}",
                            f"the key {key!r} appears twice in one mapping (first on line {first[key]}); keep one",
                        )
                    first[key] = line
            return super().construct_mapping(node, deep=deep)

    return Loader


def _yaml_events_checked(text: str, source: str) -> None:
    """Refuse aliases (an alias bomb expands to gigabytes) and nesting past :data:`MAX_DEPTH`, before building."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=_yaml_loader()):
        where = f"line {event.start_mark.line + 1}" if event.start_mark else "(file)"
        if isinstance(event, yaml.AliasEvent):
            raise ReadError.one(
                source,
                where,
                f"YAML aliases (*{event.anchor}) are not allowed; write the value out in full where it is used",
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ReadError.one(
                    source,
                    where,
                    f"nested deeper than {MAX_DEPTH} levels; is it the right file?",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str, source: str) -> Any:
    """The data of one YAML document, without aliases or duplicate keys; a syntax error names its line."""
    import yaml

    try:
        _yaml_events_checked(text, source)
        loader = _yaml_loader()(text)
        loader.source = source
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, reported by offset, not line
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ReadError.one(
            source, f"line {line}", f"not valid YAML: the control character U+{char:04X} is not allowed; remove it"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ReadError.one(source, where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    _values_checked(data, source)
    return data


def read_yaml(path: str | Path, what: str) -> Any:
    return parse_yaml(read_text(path, what), str(path))


def yaml_key_lines(text: str) -> dict[str, int]:
    """The line of each top-level key of a YAML mapping (for messages about fields); ``{}`` for anything else."""
    import yaml

    node = yaml.compose(text, Loader=_yaml_loader())
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


# A string (skipped whole) or a bracket: enough to measure nesting without parsing.
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class _DuplicateKey(Exception):
    def __init__(self, key: str, pairs: list[tuple[str, Any]]):
        self.key = key
        # The object's own id, when it has one, says which of many alike objects is meant.
        self.owner = next((v for k, v in pairs if k == "id" and isinstance(v, (str, int))), None)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, pairs)
        out[key] = value
    return out


class _NotANumber:
    """Where JSON held ``NaN`` or ``Infinity``: kept in place so that the message can say where."""

    def __init__(self, name: str):
        self.name = name


def _path_label(path: tuple[str | int, ...], ids: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for step, owner in zip(path, ids, strict=True):
        if isinstance(step, int):
            parts.append(f"[{owner!r}]" if owner is not None else f"[{step}]")
        else:
            parts.append(f".{step}" if parts else step)
    return "".join(parts) or "(top)"


def _values_checked(data: Any, source: str) -> None:
    """Refuse NaN/Infinity markers and lone surrogates (escaped ``\\ud800``: not a character) anywhere in ``data``."""
    stack: list[tuple[Any, tuple[str | int, ...], tuple[Any, ...]]] = [(data, (), ())]
    while stack:
        value, path, ids = stack.pop()
        problem = None
        if isinstance(value, _NotANumber):
            problem = f"{value.name} is not a JSON number; write a number or null"
        elif isinstance(value, str) and _SURROGATE.search(value):
            problem = "holds an escaped lone surrogate (such as \\ud800), which is not a character; remove it"
        elif isinstance(value, dict):
            stack.extend((v, (*path, str(k)), (*ids, None)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(
                (v, (*path, i), (*ids, v.get("id") if isinstance(v, dict) else None)) for i, v in enumerate(value)
            )
        if problem:
            raise ReadError.one(source, _path_label(path, ids), problem)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_depth_checked(text: str, source: str) -> None:
    depth = 0
    for m in _JSON_NESTING.finditer(text):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise ReadError.one(
                    source, f"line {line}", f"nested deeper than {MAX_DEPTH} levels; is it the right file?"
                )
        elif tok in "]}":
            depth -= 1


def parse_json(text: str, source: str) -> Any:
    """JSON data, refusing duplicate keys, NaN/Infinity and nesting past :data:`MAX_DEPTH`."""
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_NotANumber)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ReadError.one(source, where, f"not valid JSON: {exc.msg}") from None
    except _DuplicateKey as exc:
        where = f"the object with id {exc.owner!r}" if exc.owner is not None else "(file)"
        raise ReadError.one(source, where, f"the key {exc.key!r} appears twice in one object; keep one") from None
    except RecursionError:
        _json_depth_checked(text, source)
        raise ReadError.one(source, "(file)", f"nested deeper than {MAX_DEPTH} levels; is it the right file?") from None
    _json_depth_checked(text, source)
    _values_checked(data, source)
    return data


def read_json(path: str | Path, what: str) -> Any:
    return parse_json(read_text(path, what), str(path))
