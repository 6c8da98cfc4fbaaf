"""Load a YAML file and validate it with pydantic, reporting errors by file, line and field path.

Reference files are written by hand and may be wrong in any way, so every input ends either in a
validated model or in a `ConfigFileError` that names the file and a line: bad text, a scalar
that cannot be constructed (`2027-02-30`, `!!int abc`), duplicate keys, and inputs that would
exhaust the process (deep nesting, recursive aliases, alias bombs) are refused up front.
"""
from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

# The sample files nest 7 levels and hold about 2 500 values; these bounds leave room for the
# largest county and stop recursion and alias expansion long before they hurt.
MAX_DEPTH = 64
MAX_VALUES = 500_000
MAX_BYTES = 8 * 2**20
MERGE = "tag:yaml.org,2002:merge"


class ConfigFileError(ValueError):
    """Every problem found in one file, each as `file:line: path: reason`."""

    def __init__(self, path: Path | str, problems: list[tuple[int | None, str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        out = []
        for line, field, reason in self.problems:
            where = f"{self.path}:{line}" if line else self.path
            out.append(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")
        return out


def format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.startswith("[")):  # pydantic's `[key]`
            text += part if isinstance(part, str) else f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top)"


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that this loader will not take (too deep, too large, recursive, duplicate keys)."""

    def __init__(self, reason: str, node_or_mark):
        super().__init__(problem=reason, problem_mark=getattr(node_or_mark, "start_mark", node_or_mark))


# libyaml reads and parses five times faster than PyYAML's Python parser; the nodes are composed
# in Python all the same, so that nesting can be bounded (`compose_node` below).
try:
    from yaml.cyaml import CParser
    _PARSER: tuple[type, ...] = (CParser,)
except ImportError:  # a PyYAML built without libyaml
    CParser = None
    _PARSER = (yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser)


class _Loader(yaml.composer.Composer, *_PARSER, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    def __init__(self, text: str):
        self._depth = 0
        self._values = 0
        self.aliases = False  # without aliases the document is a tree, as large and deep as composed
        self._breaks = [m.start() for m in re.finditer("\n", text)]
        if CParser is not None:
            CParser.__init__(self, text)
        else:
            yaml.reader.Reader.__init__(self, text)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    def line_of(self, mark) -> int:
        """The line of a position, counted as an editor counts it: YAML also breaks lines at
        U+0085, U+2028 and U+2029, so its own line numbers can run ahead of the file's."""
        return bisect.bisect_left(self._breaks, mark.index) + 1

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases = True
            return super().compose_node(parent, index)
        # PyYAML composes recursively: bound the depth before Python's recursion limit is reached.
        self._depth += 1
        self._values += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            if self._values > MAX_VALUES:
                raise _Refused(f"more than {MAX_VALUES} values", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        # PyYAML keeps the last of two equal keys and drops the first without a word. Keys are
        # compared as built, since `2027` and `0x7EB`, or `1` and `yes`, are one key in Python.
        seen: dict = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != MERGE:
                value = self.construct_object(key)
                if value in seen:
                    first = self.line_of(seen[value].start_mark)
                    raise _Refused(f"duplicate key {key.value!r} (first on line {first})", key)
                seen[value] = key
        return node

    def construct_object(self, node, deep=False):
        # SafeConstructor lets Python's errors out for scalars it cannot build (`2027-02-30`,
        # `!!int abc`, `!!bool maybe`, a UTC offset of 99 hours); give them the node's position.
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            shown = f"{node.value!r}"[:80] + " " if isinstance(node, yaml.ScalarNode) else ""
            detail = f" ({exc})" if isinstance(exc, ValueError) else ""  # the others say nothing useful
            raise _Refused(f"{shown}is not a valid {kind}{detail}", node) from None


# YAML 1.1 gives `<<` and `=` tags of their own that mean something only as keys of a mapping
# (a merge, a default value); anywhere else PyYAML cannot build them: read them as the text they are.
for _tag in ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"):
    _Loader.add_constructor(_tag, yaml.constructor.SafeConstructor.construct_yaml_str)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


def _measure(root: yaml.Node) -> None:
    """Refuse a document that, with its aliases expanded, is recursive, too deep or too large.

    An alias is the node it names, so the composed document is a graph: walk it once, sizing each
    node from its children's sizes, so a billion-laughs file costs its length, not its expansion.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()  # started and not finished: a node met again while open contains itself
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_VALUES:
                raise _Refused(f"more than {MAX_VALUES} values once its aliases are expanded", node)
            if depth[key] > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep once its aliases are expanded", node)
            continue
        if key in size:
            continue
        if key in open_:
            raise _Refused("an alias refers to a value that contains it", node)
        open_.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node))


def _reason(exc: yaml.MarkedYAMLError, line) -> str:
    if isinstance(exc, _Refused):
        return exc.problem
    reason = f"not valid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context:
        where = f" on line {line(exc.context_mark)}" if exc.context_mark else ""
        reason += f" ({exc.context}{where})"
    return reason


class _Positions:
    """Line numbers (1-based) of every mapping key and sequence item in a YAML document."""

    def __init__(self, node: yaml.Node | None, loader: _Loader):
        self.lines: dict[Loc, int] = {}
        self._loader = loader
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, self._loader.line_of(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = loc + (self._name(key),)
                self.lines[sub] = self._loader.line_of(key.start_mark)
                self._walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, loc + (i,))

    def _name(self, key: yaml.Node):
        """The key as pydantic names it in an error: `2027` and `0x7EB` are both the int 2027."""
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:str":
            return self._loader.construct_object(key)  # built once already, so it builds again
        return str(key.value) if isinstance(key, yaml.ScalarNode) else "?"

    def line(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor present in the file."""
        while loc not in self.lines and loc:
            loc = loc[:-1]
        return self.lines.get(loc)


class Document:
    """A parsed YAML file that can place a field path on a line."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        text = self._read(path)
        if bad := yaml.reader.Reader.NON_PRINTABLE.search(text):  # what YAML forbids, found with its line
            line = text.count("\n", 0, bad.start()) + 1
            raise ConfigFileError(path, [(line, "", f"not valid YAML: the character U+{ord(bad.group()):04X} is not allowed")])
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None and loader.aliases:
                _measure(node)
            self.data: Any = loader.construct_document(node) if node is not None else None
            self._positions = _Positions(node, loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise ConfigFileError(path, [(loader.line_of(mark) if mark else None, "", _reason(exc, loader.line_of))]) from None
        except yaml.YAMLError as exc:
            raise ConfigFileError(path, [(None, "", f"not valid YAML: {exc}")]) from None
        finally:
            loader.dispose()

    @staticmethod
    def _read(path: Path | str) -> str:
        try:
            with open(path, "rb") as file:
                raw = file.read(MAX_BYTES + 1)  # never the whole of a huge or endless file
        except FileNotFoundError:
            raise ConfigFileError(path, [(None, "", "file not found")]) from None
        except OSError as exc:
            raise ConfigFileError(path, [(None, "", f"cannot be read ({exc.strerror or exc})")]) from None
        if len(raw) > MAX_BYTES:
            raise ConfigFileError(path, [(None, "", f"larger than {MAX_BYTES // 2**20} MiB")])
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is not part of the text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = len(re.findall(rb"\r\n|\r|\n", raw[:exc.start])) + 1
            raise ConfigFileError(path, [(line, "", f"not UTF-8 text ({exc.reason})")]) from None
        return text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read gives it

    def line(self, loc: Loc) -> int | None:
        return self._positions.line(loc)

    def problem(self, loc: Loc, reason: str) -> tuple[int | None, str, str]:
        return (self.line(loc), format_loc(loc), reason)

    def validate(self, model: type[M], secret: bool = False) -> M:
        """The data as `model`; a `secret` file's errors never quote its values."""
        if not isinstance(self.data, dict):
            raise ConfigFileError(self.path, [(1, "", "expected a mapping at the top of the file")])
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise ConfigFileError(self.path, [self._from_pydantic(e, secret) for e in exc.errors()]) from None

    def _from_pydantic(self, error: dict, secret: bool = False) -> tuple[int | None, str, str]:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("missing", "extra_forbidden") and "input" in error and not secret:
            shown = repr(error["input"])
            reason += f" (got {shown[:60]})" if not isinstance(error["input"], dict | list) else ""
        return self.problem(loc, reason)
