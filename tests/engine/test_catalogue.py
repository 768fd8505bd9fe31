"""One declaration per fact: the catalogue, the evaluators' declarations, the fixes and the incident record agree.

Each fact lives in one place (an evaluator's hop, needs and params in ``@evaluator``; a fix's checks in ``@fix``;
the failure modes a check covers in ``shine_ops/data/incident.yaml``) and these tests prove the rest consistent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shine_ops.engine.catalogue import Catalogue, builtin_dir
from shine_ops.engine.incident import REF_ID, record
from shine_ops.engine.yamlload import load_located
from shine_ops.errors import ConfigError
from shine_ops.evaluators import HOPS, REGISTRY
from shine_ops.fixes import load_fixes

CAT = Catalogue.load()
GENERIC = {"jmespath"}  # evaluators that serve many checks written in YAML alone
AWS_DOCS = re.compile(r"^https://(docs\.aws\.amazon\.com|aws\.amazon\.com)/\S+$")


def test_catalogue_is_consistent_ids_evaluators_and_fixes():
    files = sorted(builtin_dir("checks").glob("*.yaml"))
    assert len(files) == len(CAT.checks), "one file per check id, ids unique"
    for f in files:
        chk = CAT.checks[f.stem]
        assert chk.id == f.stem, f"{f.name}: the file is named after the id"
        assert chk.evaluator in REGISTRY
        if chk.evaluator not in GENERIC:
            assert chk.evaluator == chk.id, f"{chk.id}: catalogue id and evaluator name are one name"
        for cause in chk.consequence_of:
            assert cause in CAT.checks, f"{chk.id}: consequence_of names unknown check {cause}"
    fixes = load_fixes()
    for spec in fixes.values():
        assert spec.checks, f"{spec.id} repairs no check"
        for cid in spec.checks:
            assert cid in CAT.checks, f"fix {spec.id} names unknown check {cid}"
            assert CAT.checks[cid].fix == spec.id, f"{cid}: more than one fix, or the link is not derived"
    for chk in CAT.checks.values():
        if chk.fix:
            assert chk.id in fixes[chk.fix].checks
    for name in CAT.playbook_names():
        CAT.load_playbook(name)


def test_each_evaluator_declares_its_hop_and_a_valid_params_schema_once():
    import jsonschema

    declared_hops = set()
    for ev in REGISTRY.values():
        jsonschema.Draft202012Validator.check_schema(ev.params_schema())
        if not callable(ev.hop):
            assert ev.hop in HOPS, ev.name
            declared_hops.add(ev.hop)
    assert declared_hops == set(HOPS), "every hop is judged by some evaluator; no hop is listed and never used"
    for chk in CAT.checks.values():  # the hop is the evaluator's word, not a prefix table's
        assert chk.hop == REGISTRY[chk.evaluator].hop_for(chk.params)
    assert CAT.checks["tg.targets-healthy"].hop == "targets"
    assert CAT.checks["ecs.port-env-matches-container"].hop == "task_definition"
    assert CAT.checks["ecs.task-logging-configured"].hop == "task_definition"  # jmespath: from its resource kind


def test_generic_evaluator_derives_needs_and_hop_from_params():
    ev = REGISTRY["jmespath"]
    assert ev.needs_for({"resource": "security_groups"}) == {"security_groups"}
    assert ev.hop_for({"resource": "security_groups"}) == "network"
    from shine_ops.engine.runner import needed_areas

    assert "task_definitions" in needed_areas(CAT.load_playbook("guardrails"))


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


CHECK = "id: my.check\ntitle: mine here\nseverity: low\nevaluator: {ev}\n{extra}"


@pytest.mark.parametrize("extra,where,message", [
    ("params:\n  keeep: 1\n", ":6:3: params.keeep", "unknown param 'keeep' for evaluator taskdef.stale-revisions"),
    ("params:\n  keep: four\n", ":6:3: params.keep", "invalid param: 'four' is not of type 'integer'"),
    ("params:\n  keep: 0\n", ":6:3: params.keep", "invalid param: 0 is less than the minimum of 1"),
    ("hop: account\n", ":5:1: hop", "unknown field"),
    ("fix: tg.delete-orphaned\n", ":5:1: fix", "unknown field"),
    ("references:\n  - FM-99\n", ":6:5: references.0", "unknown incident reference 'FM-99'"),
])
def test_check_file_errors_name_file_line_and_field(tmp_path, extra, where, message):
    f = _write(tmp_path, "c.yaml", CHECK.format(ev="taskdef.stale-revisions", extra=extra))
    with pytest.raises(ConfigError) as exc:
        CAT.check_from(load_located(f))
    assert f"{f}{where}: " in str(exc.value) and message in str(exc.value)


def test_an_evaluator_without_params_accepts_none(tmp_path):
    f = _write(tmp_path, "c.yaml", CHECK.format(ev="alb.active", extra="params: {keeep: 1}\n"))
    with pytest.raises(ConfigError) as exc:
        CAT.check_from(load_located(f))
    assert f"{f}:5:10: params.keeep: unknown param 'keeep' for evaluator alb.active" in str(exc.value)
    assert "it takes no params" in str(exc.value)


@pytest.mark.parametrize("text,where,message", [
    ("name: p\nchecks:\n  - id: taskdef.stale-revisions\n    params: {keeep: 1}\n", ":4:14: checks.0.params.keeep",
     "unknown param 'keeep'"),
    ("name: p\nchecks:\n  - id: taskdef.stale-revisions\n    params:\n      keep: many\n", ":5:7: checks.0.params.keep",
     "is not of type 'integer'"),
    ("name: p\ninputs: [domain]\nchecks: [alb.active]\n", ":2:1: inputs", "unknown field"),
    ("name: p\nchecks: [alb.active]\nfix_policy: {allow: [sg.allow-alb-to-task]}\n", ":3:1: fix_policy",
     "unknown field"),
])
def test_playbook_validate_rejects_unknown_params_and_keys_with_file_line(tmp_path, text, where, message):
    f = _write(tmp_path, "p.yaml", text)
    with pytest.raises(ConfigError) as exc:
        CAT.playbook_from(load_located(f))
    assert f"{f}{where}: " in str(exc.value) and message in str(exc.value)


def test_playbook_override_params_are_merged_and_kept(tmp_path):
    f = _write(tmp_path, "p.yaml", "name: p\nchecks:\n  - id: taskdef.stale-revisions\n    params: {keep: 2}\n")
    pb = CAT.playbook_from(load_located(f))
    assert pb.entries[0].params == {"keep": 2}


def test_builtin_references_are_aws_pages_or_ids_of_the_shipped_incident():
    for chk in CAT.checks.values():
        for ref in chk.references:
            assert AWS_DOCS.match(ref) or ref in record().entries, f"{chk.id}: {ref!r}"
        text = chk.explanation + " " + chk.title
        for fm in re.findall(r"\bFM-\d{2}\b", text):  # every FM-nn a user reads resolves through checks show
            covered = {e.id for e in record().covered_by(chk.id)}
            assert fm in covered or fm in chk.references, f"{chk.id} mentions {fm} but neither covers nor cites it"


def test_incident_record_covers_each_failure_mode_with_real_checks_or_says_why_not():
    fms = record().failure_modes()
    assert [e.id for e in fms] == [f"FM-{n:02d}" for n in range(1, 23)]
    for e in record().entries.values():
        assert REF_ID.match(e.id) and e.title and e.summary and "\n" not in e.summary
        for cid in e.checks:
            assert cid in CAT.checks, f"{e.id} names unknown check {cid}"
    for e in fms:
        assert e.showed and e.reveals, e.id
        assert e.checks or e.outside, f"{e.id}: no check covers it and the record does not say why"
    assert [e.id for e in record().covered_by("cors.allows-frontend-origin")] == ["FM-16"]


def test_sandbox_scenario_descriptions_cite_failure_modes_their_check_resolves():
    """``sandbox scenarios`` prints these lines; a scenario named after a check cites only what that check shows."""
    import yaml

    from shine_ops.sandbox.scenario import scenario_dir

    for f in sorted(scenario_dir().glob("*.yaml")):
        desc = (yaml.safe_load(f.read_text()) or {}).get("description") or ""
        if f.stem not in CAT.checks:
            continue
        shown = {e.id for e in record().covered_by(f.stem)} | set(CAT.checks[f.stem].references)
        for fm in re.findall(r"\bFM-\d{2}\b", desc):
            assert fm in shown, f"scenario {f.stem} says {fm}; shine-ops checks show {f.stem} does not list it"


def test_finding_json_carries_references_as_an_optional_key_the_report_schema_accepts():
    from importlib import resources

    import jsonschema

    from shine_ops.engine.finding import Finding, Outcome

    schema = json.loads((resources.files("shine_ops") / "schemas" / "report-v1.json").read_text())
    finding_schema = {"$defs": schema["$defs"], **schema["$defs"]["finding"]}
    with_refs = Finding.from_outcome("dns.points-to-service-alb", "t", "critical", Outcome("fail", "s."),
                                     references=["FM-11", "https://docs.aws.amazon.com/x.html"]).to_json()
    without = Finding.from_outcome("dns.record-exists", "t", "critical", Outcome("pass", "s.")).to_json()
    assert with_refs["references"] == ["FM-11", "https://docs.aws.amazon.com/x.html"] and "references" not in without
    for doc in (with_refs, without):
        jsonschema.Draft202012Validator(finding_schema).validate(doc)
    assert "references" not in schema["$defs"]["finding"]["required"]
