"""Load a YAML file and validate it with pydantic, reporting errors by file, line and field path."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ConfigFileError(Exception):
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
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


class _Positions:
    """Line numbers (1-based) of every mapping key and sequence item in a YAML document."""

    def __init__(self, node: yaml.Node | None):
        self.lines: dict[Loc, int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = int(key.value) if key.tag.endswith(":int") else str(key.value)
                sub = loc + (name,)
                self.lines[sub] = key.start_mark.line + 1
                self._walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, loc + (i,))

    def line(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor present in the file."""
        while loc not in self.lines and loc:
            loc = loc[:-1]
        return self.lines.get(loc)


class Document:
    """A parsed YAML file that can place a field path on a line."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigFileError(path, [(None, "", "file not found")]) from None
        except UnicodeDecodeError as exc:
            raise ConfigFileError(path, [(None, "", f"not UTF-8 text ({exc.reason})")]) from None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise ConfigFileError(path, [(line, "", f"not valid YAML: {exc.problem}")]) from None
        self._positions = _Positions(node)

    def line(self, loc: Loc) -> int | None:
        return self._positions.line(loc)

    def problem(self, loc: Loc, reason: str) -> tuple[int | None, str, str]:
        return (self.line(loc), format_loc(loc), reason)

    def validate(self, model: type[M]) -> M:
        if not isinstance(self.data, dict):
            raise ConfigFileError(self.path, [(1, "", "expected a mapping at the top of the file")])
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise ConfigFileError(self.path, [self._from_pydantic(e) for e in exc.errors()]) from None

    def _from_pydantic(self, error: dict) -> tuple[int | None, str, str]:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
            shown = repr(error["input"])
            reason += f" (got {shown[:60]})" if not isinstance(error["input"], dict | list) else ""
        return self.problem(loc, reason)
