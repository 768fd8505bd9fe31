"""YAML loading that remembers where every value came from, so errors can name file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shine_ops.errors import ConfigError


@dataclass
class Located:
    """A loaded YAML document plus the source position of each value, keyed by its JSON path."""

    data: Any
    path: str
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def where(self, keys: tuple | list) -> tuple[int | None, int | None]:
        keys = tuple(keys)
        while keys:
            if keys in self.positions:
                return self.positions[keys]
            keys = keys[:-1]
        return self.positions.get((), (None, None))

    def error(self, keys: tuple | list, message: str, hint: str | None = None) -> ConfigError:
        line, col = self.where(keys)
        field_name = ".".join(str(k) for k in keys) or None
        return ConfigError(message, path=self.path, line=line, column=col, field=field_name, hint=hint)


def _walk(node: Any, keys: tuple, positions: dict) -> Any:
    import yaml

    positions[keys] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k_node, v_node in node.value:
            key = _scalar(k_node) if isinstance(k_node, yaml.ScalarNode) else str(k_node.value)
            positions[keys + (key,)] = (k_node.start_mark.line + 1, k_node.start_mark.column + 1)
            out[key] = _walk(v_node, keys + (key,), positions)
            positions[keys + (key,)] = (k_node.start_mark.line + 1, k_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, keys + (i,), positions) for i, item in enumerate(node.value)]
    return _scalar(node)  # resolve the scalar's type exactly as safe_load would


def _scalar(node: Any) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_located(path: str | Path, text: str | None = None) -> Located:
    """Parse ``path`` (or ``text``) as one YAML document; syntax errors become ConfigError with line/column."""
    import yaml

    p = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", path=p) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", path=p) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path=p, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=p) from None
    if node is None:
        return Located(None, p, {(): (1, 1)})
    positions: dict = {}
    try:
        data = _walk(node, (), positions)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML value: {getattr(exc, 'problem', exc)}", path=p,
                          line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid YAML value: {exc}", path=p) from None
    return Located(data, p, positions)
