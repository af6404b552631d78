"""YAML documents that remember where each value came from, for errors that name the line.

    >>> doc = YamlDoc.parse("models:\\n  churn:\\n    granularity: 7m\\n", "sightline.yaml")
    >>> doc.data["models"]["churn"]["granularity"]
    '7m'
    >>> doc.error(("models", "churn", "granularity"), "unknown granularity '7m'").args[0]
    "sightline.yaml:3: models.churn.granularity: unknown granularity '7m'"

Configuration parsers walk ``doc.data`` (plain dicts, lists and scalars) and report problems with
:meth:`YamlDoc.error`, which points at the line of the offending field (or of its nearest
parent that exists).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from sightline.errors import ConfigError

__all__ = ["Path", "YamlDoc", "dotted"]

Path = Sequence[str | int]


def dotted(path: Path) -> str:
    """``("models", "churn", "monitors", 0)`` → ``models.churn.monitors[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class YamlDoc:
    """Parsed YAML data and the line (1-based) of every key and item."""

    data: Any
    source: str
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, source: str = "<config>") -> YamlDoc:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.load(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{source}{line}: not valid YAML: {error.problem}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{source}: not valid YAML: {error}") from None
        doc = cls(data if data is not None else {}, source)
        if node is not None:
            doc._index(node, ())
        return doc

    def _index(self, node: yaml.Node, path: tuple[str | int, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in node.value:
                child = (*path, key.value)
                line = key.start_mark.line + 1
                if key.value in seen:
                    self.lines[child] = line
                    raise self.error(
                        child,
                        f"'{key.value}' is written twice (lines {seen[key.value]} and {line})",
                    )
                seen[key.value] = line
                self.lines[child] = line
                self._index_value(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*path, i))

    def _index_value(self, node: yaml.Node, path: tuple[str | int, ...]) -> None:
        line = self.lines[path]
        self._index(node, path)
        self.lines[path] = line  # a key's line is where the key is written

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest parent in the document."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get(())

    def mapping(self, value: object, path: Path) -> Mapping[str, Any]:
        """``value`` as a mapping (None is an empty one), else an error at ``path``."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, f"expected a mapping (key: value), got {type(value).__name__}")
        return value

    def known(self, data: Mapping[str, Any], keys: set[str], path: Path) -> None:
        """An error at the first key of ``data`` not in ``keys``, with the closest known one."""
        for key in data:
            if key not in keys:
                close = difflib.get_close_matches(str(key), sorted(keys), n=1)
                hint = (
                    f"; did you mean '{close[0]}'?"
                    if close
                    else f"; known: {', '.join(sorted(keys))}"
                )
                raise self.error((*path, key), f"unknown field '{key}'{hint}")

    def error(self, path: Path, message: str) -> ConfigError:
        """A ConfigError reading ``source:line: dotted.path: message``."""
        line = self.line(path)
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {dotted(path)}: {message}" if path else f"{where}: {message}")
