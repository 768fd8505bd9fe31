"""The check catalogue and the playbooks, loaded from YAML and validated against their schemas.

Each fact has one home, and the catalogue derives the rest:
- a check's hop, what it reads and which params it takes: its evaluator's ``@evaluator(...)`` declaration;
- which fix repairs a check: the fix's ``@fix(checks=[...])`` declaration (``Check.fix`` is derived);
- which recorded failure modes a check covers: the incident record (``shine_ops/data/incident.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from shine_ops.engine.schemas import CHECK_SCHEMA, PLAYBOOK_SCHEMA
from shine_ops.engine.yamlload import Located, load_located
from shine_ops.errors import ConfigError


@dataclass
class Check:
    id: str
    title: str
    severity: str
    evaluator: str
    params: dict = field(default_factory=dict)
    fix: str | None = None  # derived: the fix whose @fix(checks=...) names this check
    explanation: str = ""
    consequence_of: list[str] = field(default_factory=list)
    hop: str = ""  # derived: the evaluator's declared hop
    source: str = ""
    references: list[str] = field(default_factory=list)  # AWS documentation URLs and incident record ids (FM-nn)


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
    """The built-in ``checks`` or ``playbooks`` folder: the packages ``shine_ops.checks`` / ``shine_ops.playbooks``
    (top-level ``checks/`` and ``playbooks/`` in the repository, mapped into the package by pyproject.toml), so an
    editable install and a wheel find them alike."""
    return Path(str(resources.files(f"shine_ops.{kind}")))


def _validate(doc: Located, schema: dict, what: str) -> None:
    import jsonschema

    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(schema)
    err = best_match(validator.iter_errors(doc.data))  # descends into oneOf to the most specific error
    if err is not None:
        keys = tuple(err.absolute_path)
        msg = err.message
        if err.validator == "additionalProperties":
            unknown = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str) \
                if isinstance(err.instance, dict) else []
            if unknown:
                keys = keys + (unknown[0],)
            msg = f"unknown field ({err.message})"
        raise doc.error(keys, f"invalid {what}: {msg}")


def validate_params(ev: Any, params: Any, doc: Located, at: tuple, given: dict | None = None) -> None:
    """``params`` against what evaluator ``ev`` declared it takes; errors name ``doc``'s file:line at ``at`` (the
    line of the param itself when it is written there, else of ``at``).

    ``given``: the params written at ``at`` (a playbook's override merged over the check's own); only those can
    be unknown, the check's own were validated with the check."""
    given = params if given is None else given
    for key in given:
        if key not in ev.params:
            known = ", ".join(sorted(ev.params)) or "none: it takes no params"
            raise doc.error(at + (key,), f"unknown param {key!r} for evaluator {ev.name}", hint=f"known params: {known}")
    if ev.check_params is not None:
        try:
            problems = ev.check_params(params)
        except (TypeError, ValueError, AttributeError):
            problems = []  # the schema below names what is wrong with a value of the wrong type
        for keys, msg in problems:
            keys = keys[1:] if keys[:1] == ("params",) else keys
            raise doc.error(at + keys, msg)
    import jsonschema

    from jsonschema.exceptions import best_match

    err = best_match(jsonschema.Draft202012Validator(ev.params_schema()).iter_errors(params))
    if err is not None:
        keys = tuple(err.absolute_path)
        raise doc.error(at + keys, f"invalid param: {err.message}")


def _fixes_by_check() -> dict[str, str]:
    """check id -> the fix that repairs it, from the fixes' own ``@fix(checks=...)`` declarations."""
    from shine_ops.fixes import load_fixes

    out: dict[str, str] = {}
    for spec in sorted(load_fixes().values(), key=lambda s: s.order):
        for cid in spec.checks:
            out.setdefault(cid, spec.id)
    return out


class Catalogue:
    def __init__(self) -> None:
        from shine_ops.evaluators import load_builtin

        self.checks: dict[str, Check] = {}
        self.playbook_files: dict[str, Path] = {}
        self.registry = load_builtin()
        self.fix_of = _fixes_by_check()

    @classmethod
    def load(cls, extra_dirs: list[str | Path] | None = None) -> "Catalogue":
        """Built-in checks and playbooks, then the user's folders (which may add or replace)."""
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
                chk = cat.check_from(doc)
                cat.checks[chk.id] = chk
        for f in sorted(builtin_dir("playbooks").glob("*.yaml")):
            cat.playbook_files.setdefault(f.stem, f)
        return cat

    def check_from(self, doc: Located) -> Check:
        """One check file, validated: its schema, its evaluator, the params that evaluator takes, its references."""
        if not isinstance(doc.data, dict):
            raise doc.error((), "a check file must be a mapping with id, title, severity, evaluator")
        _validate(doc, CHECK_SCHEMA, "check")
        d: dict[str, Any] = doc.data
        ev = self.registry.get(d["evaluator"])
        if ev is None:
            raise doc.error(("evaluator",), f"unknown evaluator {d['evaluator']!r}",
                            hint="known: " + ", ".join(sorted(self.registry)))
        params = d.get("params") or {}
        validate_params(ev, params, doc, ("params",))
        references = list(d.get("references") or [])
        from shine_ops.engine.incident import known_ids, unknown_reference

        for i, ref in enumerate(references):
            if (why := unknown_reference(ref)):
                raise doc.error(("references", i), why, hint=f"the recorded incident has {known_ids()}; "
                                                             "shine-ops checks show FM-01 explains one")
        return Check(id=d["id"], title=d["title"], severity=d["severity"], evaluator=d["evaluator"], params=params,
                     fix=self.fix_of.get(d["id"]), explanation=d.get("explanation", ""),
                     consequence_of=list(d.get("consequence_of") or []), hop=ev.hop_for(params), source=doc.path,
                     references=references)

    def _check_from(self, doc: Located, registry: dict | None = None) -> Check:  # the name tests and old callers use
        return self.check_from(doc)

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
            params = {**chk.params, **over.get("params", {})}
            if over.get("params"):
                validate_params(self.registry[chk.evaluator], params, doc, ("checks", i, "params"), over["params"])
            entries.append(PlaybookEntry(check=chk, severity=over.get("severity", chk.severity), params=params))
        return Playbook(name=doc.data["name"], description=doc.data.get("description", ""), entries=entries,
                        source=doc.path)


@lru_cache(maxsize=1)
def _builtin_hops() -> dict[str, str]:
    return {c.id: c.hop for c in Catalogue.load().checks.values()}


def builtin_hop(check_id: str) -> str | None:
    """The hop of a built-in check, for renderers that only have a report's JSON (its evaluator declares it)."""
    return _builtin_hops().get(check_id)
