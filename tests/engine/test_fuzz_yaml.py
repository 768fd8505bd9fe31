"""Property-based: whatever YAML a user writes, shine-ops answers with a ConfigError, never a traceback."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shine_ops.config import load_config
from shine_ops.engine.catalogue import Catalogue
from shine_ops.engine.yamlload import load_located
from shine_ops.errors import ConfigError, UsageError
from shine_ops.evaluators import REGISTRY

CAT = Catalogue.load()
KEYS = ["name", "checks", "id", "title", "severity", "evaluator", "params", "fix", "description", "resource",
        "assert", "suppressions", "domain", "service_paths", "expires", "consequence_of", "inputs"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                    st.sampled_from(list(CAT.checks) + ["critical", "jmespath", "x.y", "2026-01-01"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=15)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _all_loaders(path) -> None:
    for load in (lambda: CAT.playbook_from(load_located(path)), lambda: CAT._check_from(load_located(path), REGISTRY),
                 lambda: load_config(str(path))):
        try:
            load()
        except (ConfigError, UsageError) as err:
            assert str(err)  # a message, with the file named
            assert str(path) in str(err) or "shine-ops.yaml" in str(err)


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_never_raises_anything_but_config_errors(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fz") / "x.yaml"
    p.write_text(text, encoding="utf-8")
    _all_loaders(p)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_random_structures_never_raise_anything_but_config_errors(tmp_path_factory, doc):
    p = tmp_path_factory.mktemp("fz") / "x.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    _all_loaders(p)


def test_cli_on_garbage_playbook_exits_2_without_traceback(cli, tmp_path):
    p = tmp_path / "g.yaml"
    p.write_bytes(b"\xff\xfe: [\x00")
    proc = cli("playbook", "validate", str(p))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and str(p) in proc.stderr
