"""YAML loading that remembers where every key came from, so errors can name the line.

``${VAR}`` in a scalar is replaced by the environment variable ``VAR``; ``${VAR:-default}`` gives a
default. A missing variable is reported with its key path and line, like any other config error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]
# One constructor for plain scalars; compose() has already resolved each node's tag.
_SCALARS = yaml.SafeLoader("")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '<top>'}: {self.message}"


class ConfigError(Exception):
    """Every problem found in a config file, each with its key path and line."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(f"{source}: {len(issues)} problem(s)")

    def __str__(self) -> str:
        lines = [f"{self.source}: {len(self.issues)} problem(s) in the configuration"]
        lines += [f"  {issue}" for issue in self.issues]
        return "\n".join(lines)


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LoadedYaml:
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one (e.g. for a missing key)."""
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line is not None:
                return line
        return None


def load_yaml(path: Path, environ: dict[str, str] | None = None) -> LoadedYaml:
    """Parse ``path``; raise :class:`ConfigError` for syntax errors and unresolved ``${VAR}``."""
    env = dict(os.environ) if environ is None else environ
    text = path.read_text(encoding="utf-8-sig")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(str(path), [ConfigIssue("", line, f"YAML syntax: {exc.problem}")]) from None
    loaded = LoadedYaml(data=None)
    issues: list[ConfigIssue] = []
    if root is not None:
        loaded.data = _convert(root, (), loaded.lines, env, issues)
    if issues:
        raise ConfigError(str(path), issues)
    return loaded


def _convert(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], env: dict[str, str], issues: list[ConfigIssue]
) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = str(_SCALARS.construct_object(key_node))
            child: Loc = (*loc, key)
            if key in result:
                issues.append(ConfigIssue(format_loc(child), key_node.start_mark.line + 1, "duplicate key"))
            lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, child, lines, env, issues)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), lines, env, issues) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == "tag:yaml.org,2002:str" and "${" in node.value:
        return _interpolate(node.value, loc, node.start_mark.line + 1, env, issues)
    return _SCALARS.construct_object(node)


def _interpolate(value: str, loc: Loc, line: int, env: dict[str, str], issues: list[ConfigIssue]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        issues.append(ConfigIssue(format_loc(loc), line, f"environment variable {name} is not set"))
        return ""

    return ENV_REF.sub(replace, value)
