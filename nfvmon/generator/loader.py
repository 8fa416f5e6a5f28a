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

from nfvmon.errors import InputError, format_path

LOG = logging.getLogger(__name__)

#: Larger inputs are refused before parsing: real VNFDs and VIM configs are a few KiB.
MAX_INPUT_BYTES = 1024 * 1024
#: Deeper nesting than this is refused (no real document comes near it).
MAX_DEPTH = 64

Path = tuple[Any, ...]
DuplicatePolicy = Callable[[Path], bool]


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases where it meets them."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "YAML anchors and aliases are not accepted")
        return super().compose_node(parent, index)


class _Refused(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


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
    loader = _NoAliasLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(source, (), "empty file: expected a YAML mapping")
        _check_nodes(node, (), source, duplicate_is_error)
        return loader.construct_document(node)
    except _Refused as exc:
        raise InputError(source, (), exc.message + _where(exc.mark)) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            source, (), f"invalid YAML: {problem}{_where(exc.problem_mark)}"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(source, (), f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(source, (), "invalid YAML: nesting is too deep") from None
    finally:
        loader.dispose()


def load_yaml_file(path: str, duplicate_is_error: DuplicatePolicy = lambda path: True) -> Any:
    """Read and parse a YAML file; the error source is the file's name as the user gave it."""
    return load_yaml_text(read_text(path), path, duplicate_is_error)


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
                            source, format_path(child))
            seen.add(key)
            _check_nodes(value_node, child, source, dup_is_error)
