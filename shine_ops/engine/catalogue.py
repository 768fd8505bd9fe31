"""The check catalogue and the playbooks, loaded from YAML and validated against their schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from shine_ops.engine.schemas import CHECK_SCHEMA, PLAYBOOK_SCHEMA
from shine_ops.engine.yamlload import Located, load_located
from shine_ops.errors import ConfigError

HOP_OF_PREFIX = {"dns": "dns", "alb": "load_balancer", "listener": "listener", "tg": "target_group",
                 "ecs": "service", "sg": "network", "nacl": "network", "smoke": "app", "cors": "app",
                 "taskdef": "task_definition", "cost": "account"}


@dataclass
class Check:
    id: str
    title: str
    severity: str
    evaluator: str
    params: dict = field(default_factory=dict)
    fix: str | None = None
    explanation: str = ""
    consequence_of: list[str] = field(default_factory=list)
    hop: str = ""
    source: str = ""


@dataclass
class PlaybookEntry:
    check: Check
    severity: str
    params: dict


@dataclass
class Playbook:
    name: str
    description: str
    entries: list[PlaybookEntry]
    source: str = ""


def builtin_dir(kind: str) -> Path:
    return Path(str(resources.files("shine_ops") / kind))


def _validate(doc: Located, schema: dict, what: str) -> None:
    import jsonschema

    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(schema)
    err = best_match(validator.iter_errors(doc.data))  # descends into oneOf to the most specific error
    if err is not None:
        keys = tuple(err.absolute_path)
        msg = err.message
        if err.validator == "additionalProperties":
            msg = f"unknown field ({err.message})"
        raise doc.error(keys, f"invalid {what}: {msg}")


class Catalogue:
    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}
        self.playbook_files: dict[str, Path] = {}

    @classmethod
    def load(cls, extra_dirs: list[str | Path] | None = None) -> "Catalogue":
        """Built-in checks and playbooks, then the user's folders (which may add or replace)."""
        from shine_ops.evaluators import load_builtin

        registry = load_builtin()
        cat = cls()
        dirs = [builtin_dir("checks")] + [Path(d) for d in extra_dirs or []]
        for d in dirs:
            if not d.is_dir():
                raise ConfigError("checks folder not found", path=str(d))
            for f in sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")):
                doc = load_located(f)
                if isinstance(doc.data, dict) and "checks" in doc.data and "name" in doc.data:
                    cat.playbook_files.setdefault(doc.data["name"], f)  # a playbook dropped into a checks folder
                    continue
                chk = cat._check_from(doc, registry)
                cat.checks[chk.id] = chk
        for f in sorted(builtin_dir("playbooks").glob("*.yaml")):
            cat.playbook_files.setdefault(f.stem, f)
        return cat

    def _check_from(self, doc: Located, registry: dict) -> Check:
        if not isinstance(doc.data, dict):
            raise doc.error((), "a check file must be a mapping with id, title, severity, evaluator")
        _validate(doc, CHECK_SCHEMA, "check")
        d: dict[str, Any] = doc.data
        if d["evaluator"] not in registry:
            raise doc.error(("evaluator",), f"unknown evaluator {d['evaluator']!r}",
                            hint="known: " + ", ".join(sorted(registry)))
        if d["evaluator"] == "jmespath":
            from shine_ops.evaluators.generic import validate_params

            for keys, msg in validate_params(d.get("params") or {}):
                raise doc.error(keys, msg)
        ev = registry.get(d["evaluator"])
        prefix = d["id"].split(".")[0]
        return Check(id=d["id"], title=d["title"], severity=d["severity"], evaluator=d["evaluator"],
                     params=d.get("params") or {}, fix=d.get("fix"), explanation=d.get("explanation", ""),
                     consequence_of=list(d.get("consequence_of") or []),
                     hop=d.get("hop") or HOP_OF_PREFIX.get(prefix) or (ev.hop if ev else prefix), source=doc.path)

    def playbook_names(self) -> list[str]:
        return sorted(self.playbook_files)

    def load_playbook(self, name_or_file: str) -> Playbook:
        p = Path(name_or_file)
        if name_or_file in self.playbook_files:
            p = self.playbook_files[name_or_file]
        elif not (p.suffix in (".yaml", ".yml") or p.exists()):
            raise ConfigError(f"unknown playbook {name_or_file!r}",
                              hint="known: " + ", ".join(self.playbook_names()) + ", or give a file path")
        return self.playbook_from(load_located(p))

    def playbook_from(self, doc: Located) -> Playbook:
        if not isinstance(doc.data, dict):
            raise doc.error((), "a playbook must be a mapping with name and checks")
        _validate(doc, PLAYBOOK_SCHEMA, "playbook")
        entries, seen = [], set()
        for i, item in enumerate(doc.data["checks"]):
            cid = item if isinstance(item, str) else item["id"]
            if cid not in self.checks:
                raise doc.error(("checks", i), f"unknown check id {cid!r}",
                                hint="shine-ops checks list shows the catalogue")
            if cid in seen:
                raise doc.error(("checks", i), f"check {cid!r} is listed twice")
            seen.add(cid)
            chk = self.checks[cid]
            over = item if isinstance(item, dict) else {}
            entries.append(PlaybookEntry(check=chk, severity=over.get("severity", chk.severity),
                                         params={**chk.params, **over.get("params", {})}))
        return Playbook(name=doc.data["name"], description=doc.data.get("description", ""), entries=entries,
                        source=doc.path)
