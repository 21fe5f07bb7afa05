"""Reading YAML input files safely: bounded in size and alias expansion, UTF-8 only, never a traceback.

PyYAML's safe loader never runs code, but a few hundred bytes of nested aliases ("billion laughs")
expand to millions of nodes once the data are walked, and an impossible date such as 2026-02-30 raises
ValueError from inside the loader. Here the composed document is measured before anything is built
(aliases counted as often as they are used), recursive aliases are refused, and an impossible date is
kept as text so that the schema that reads the field names it in its error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_FILE_BYTES = 5_000_000
MAX_NODES = 200_000  # after alias expansion; the bundled files hold a few thousand
MAX_DEPTH = 40


class _Loader(yaml.SafeLoader):
    """SafeLoader whose timestamps never raise: an impossible date stays a string."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the document with every alias expanded (memoised, so this is linear in the file)."""
    sizes: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, state = stack.pop()
        key = id(node)
        if state == 0:
            if key in sizes:
                continue
            if key in active:
                raise ValueError("a recursive alias (an anchor used inside itself)")
            active.add(key)
            stack.append((node, 1))
            for child in _children(node):
                if id(child) in active:
                    raise ValueError("a recursive alias (an anchor used inside itself)")
                stack.append((child, 0))
        else:
            kids = _children(node)
            total = 1 + sum(sizes[id(c)] for c in kids)
            d = 1 + max((depth[id(c)] for c in kids), default=0)
            active.discard(key)
            if total > MAX_NODES:
                raise ValueError(f"more than {MAX_NODES:,} values once aliases are expanded")
            if d > MAX_DEPTH:
                raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
            sizes[key], depth[key] = total, d
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def parse_yaml(text: str, where: str = "<text>") -> Any:
    """Parse YAML text within the bounds above; every problem is a ConfigError naming `where`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _expanded_size(node)
        except ValueError as exc:
            raise ConfigError(where, None, f"refused: the YAML holds {exc}") from None
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(where, None, "not valid YAML: " + " ".join(str(exc).split())) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value PyYAML cannot build
        raise ConfigError(where, None, f"a value cannot be read: {exc}") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file: missing, unreadable, oversized, non-UTF-8 or malformed files give
    one ConfigError naming the file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(p), None, "file not found")
    if not p.is_file():
        raise ConfigError(str(p), None, "not a file (a folder or device was given)")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(str(p), None, f"the file is {size:,} bytes; input files are limited to "
                                            f"{MAX_FILE_BYTES:,}")
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(str(p), None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), None, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                                        "save the file with UTF-8 encoding") from None
    return parse_yaml(text, str(p))
