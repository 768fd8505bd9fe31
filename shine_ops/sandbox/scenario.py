"""Scenarios: declarative topologies. ``base:`` names another scenario to deep-merge over (dicts merge,
lists and scalars replace, ``null`` deletes), so a fault scenario states only what differs."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

from shine_ops.engine.yamlload import load_located
from shine_ops.errors import ConfigError, UsageError


def scenario_dir() -> Path:
    return Path(str(resources.files("shine_ops") / "sandbox" / "scenarios"))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in scenario_dir().glob("*.yaml"))


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = copy.deepcopy(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = deep_merge(out.get(k), v) if k in out else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def load_scenario(name_or_file: str, _depth: int = 0) -> dict:
    if _depth > 5:
        raise ConfigError("scenario bases nest too deep", path=name_or_file)
    p = scenario_dir() / f"{name_or_file}.yaml"  # scenario names contain dots (they are check ids)
    if not p.exists():
        p = Path(name_or_file)
        if p.suffix not in (".yaml", ".yml") or not p.exists():
            raise UsageError(f"unknown scenario {name_or_file!r}",
                             hint="known: " + ", ".join(scenario_names()) + ", or a .yaml file")
    doc = load_located(p)
    if not isinstance(doc.data, dict):
        raise doc.error((), "a scenario must be a mapping")
    data = dict(doc.data)
    base = data.pop("base", None)
    if base:
        data = deep_merge(load_scenario(str(base), _depth + 1), data)
    data.setdefault("name", p.stem)
    data.setdefault("region", "us-east-1")
    return data


def describe_scenarios() -> list[tuple[str, str]]:
    out = []
    for name in scenario_names():
        doc = load_located(scenario_dir() / f"{name}.yaml")
        out.append((name, (doc.data or {}).get("description", "")))
    return out
