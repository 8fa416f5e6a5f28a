"""Load user YAML safely, or fail with a one-line error naming the file and the path.

PyYAML's safe loader still hides duplicate keys (the last one wins), expands aliases without
bound, and crashes with a traceback on binary input. This loader reads a bounded number of
bytes, refuses anchors, aliases and merge keys, composes the node tree first so duplicates
can be reported with their path, and only then builds Python values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import yaml

from nfvmon.errors import InputError, format_path, one_line

LOG = logging.getLogger(__name__)

#: Larger inputs are refused before parsing: real VNFDs and VIM configs are a few KiB.
MAX_INPUT_BYTES = 1024 * 1024
#: Deeper nesting than this is refused (no real document comes near it).
MAX_DEPTH = 64
#: Refused while parsing, before composing: libyaml's composer recurses in C.
MAX_PARSE_DEPTH = 1000

Path = tuple[Any, ...]
DuplicatePolicy = Callable[[Path], bool]


#: libyaml's parser when PyYAML has it (about 8x faster than the pure-Python one).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENERS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSERS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _refuse_anchors_and_depth(text: str) -> None:
    """One pass over the parser's events, before anything is composed: refuse anchors and
    aliases (alias bombs never expand) and absurd nesting (libyaml's composer recurses in C,
    where Python's recursion limit does not apply); _check_nodes reports deep paths."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "YAML anchors and aliases are not accepted")
        if isinstance(event, _OPENERS):
            depth += 1
            if depth > MAX_PARSE_DEPTH:
                raise _Refused(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSERS):
            depth -= 1


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


def _collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def _where(mark: yaml.Mark | None) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def read_text(path: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """Read a UTF-8 text file of bounded size; refuse binary data."""
    source = path
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(path, (), "no such file") from None
    except IsADirectoryError:
        raise InputError(path, (), "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(path, (), f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(source, (), f"file is larger than {max_bytes} bytes")
    if b"\x00" in data:
        raise InputError(source, (), "binary data (NUL byte), not a YAML text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            source, (), f"not UTF-8 text (invalid byte at offset {exc.start})"
        ) from None


def load_yaml_text(
    text: str,
    source: str,
    duplicate_is_error: DuplicatePolicy = lambda path: True,
) -> Any:
    """Parse one YAML document; duplicates are errors where `duplicate_is_error(path)`."""
    loader = None
    try:
        _refuse_anchors_and_depth(text)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise InputError(source, (), "empty file: expected a YAML mapping")
        _check_nodes(node, (), source, duplicate_is_error)
        try:
            value = loader.construct_document(node)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError,
                AttributeError) as exc:
            # A scalar its tag cannot build (`!!bool maybe`, a 5,000-digit int, 2024-02-30).
            path, bad = _unbuildable_scalar(node, ())
            if bad is None:
                what = f"cannot build a value ({type(exc).__name__})"
            else:
                kind = bad.tag.rsplit(":", 1)[-1]
                what = f"{bad.value[:40]!r} is not a valid {kind}{_where(bad.start_mark)}"
            raise InputError(source, path, f"invalid YAML value: {what}") from None
        _refuse_huge_integers(value, (), source)
        return value
    except _Refused as exc:
        raise InputError(source, (), exc.message + _where(exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            source, (), f"invalid YAML: {_collapse_whitespace(problem)}{_where(exc.problem_mark)}"
        ) from None
    except yaml.YAMLError as exc:  # libyaml's reader errors carry no mark object
        raise InputError(source, (), f"invalid YAML: {_collapse_whitespace(str(exc))}") from None
    except RecursionError:
        raise InputError(source, (), "invalid YAML: nesting is too deep") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path: str, duplicate_is_error: DuplicatePolicy = lambda path: True) -> Any:
    """Read and parse a YAML file; the error source is the file's name as the user gave it."""
    return load_yaml_text(read_text(path), path, duplicate_is_error)


#: A 0x-prefixed integer of thousands of digits builds fine but cannot even be printed in
#: decimal (Python's 4,300-digit limit); smaller absurd values get the schema's message.
MAX_INTEGER_BITS = 8192


def _refuse_huge_integers(value: Any, path: Path, source: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
        raise InputError(source, path, f"number too large (over {MAX_INTEGER_BITS} bits)")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_huge_integers(key, path, source)
            _refuse_huge_integers(item, path + (key,), source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_huge_integers(item, path + (index,), source)


def _unbuildable_scalar(node: yaml.Node, path: Path) -> tuple[Path, yaml.ScalarNode | None]:
    """The first scalar below `node` that its tag's constructor rejects, and its path."""
    if isinstance(node, yaml.ScalarNode):
        try:
            _Loader("").construct_object(node, deep=True)
        except Exception:  # noqa: BLE001 - any failure means this scalar is the culprit
            return path, node
        return path, None
    children = (enumerate(node.value) if isinstance(node, yaml.SequenceNode)
                else ((k.value, v) for k, v in node.value))
    for key, child in children:
        found = _unbuildable_scalar(child, path + (key,))
        if found[1] is not None:
            return found
    if isinstance(node, yaml.MappingNode):  # a key that cannot be built
        for key_node, _value in node.value:
            found = _unbuildable_scalar(key_node, path)
            if found[1] is not None:
                return found
    return path, None


def _check_nodes(node: yaml.Node, path: Path, source: str, dup_is_error: DuplicatePolicy):
    """Walk the composed tree: depth bound, merge keys, duplicate keys with their path."""
    if len(path) > MAX_DEPTH:
        raise InputError(source, path, f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_nodes(item, path + (index,), source, dup_is_error)
    elif isinstance(node, yaml.MappingNode):
        seen: set[tuple[str, str]] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(key_node.start_mark, "YAML merge keys (<<) are not accepted")
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(source, path, "mapping keys must be plain scalars")
            key = (key_node.tag, key_node.value)
            child = path + (key_node.value,)
            if key in seen:
                if dup_is_error(child):
                    raise InputError(source, child, "duplicate key")
                LOG.warning("%s: %s: duplicate key, the last value wins",
                            one_line(source), one_line(format_path(child)))
            seen.add(key)
            _check_nodes(value_node, child, source, dup_is_error)
