"""Chaos at the wire: with 30% of the AWS calls answered by throttling errors or 503s (in each service's own wire
protocol, by the wire proxy), ``diagnose``, ``map``, ``fix alb-ecs`` and ``audit`` give the same results as without.

Each command runs as a user runs it (a subprocess of the real CLI), once against the moto server and once through
the proxy in front of it. Faults are seeded, so a failure here reproduces.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_no_traceback
from tests.e2e.conftest import diagnose_json

pytestmark = pytest.mark.slow

DOMAIN = "api.shineskincollective.com"
RATE, SEED = 0.3, 7
WHERE = ("--region", "us-east-1", "--domain", DOMAIN)


def _statuses(report: dict) -> dict[str, str]:
    return {f["check"]: f["status"] for f in report["findings"]}


def _stable(value: Any) -> Any:
    """A command's JSON without what may differ between two runs: timings and call counts."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in ("duration_s", "api_calls", "generated_at")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _plan_text(stdout: str) -> str:
    """A printed plan without its id and hash (made per run: a time and the endpoint go into them)."""
    return re.sub(r"^Plan \S+ \(sha256 [0-9a-f]+\)", "Plan", stdout)


def _run(cli, *args: str, timeout: float = 240):
    proc = cli(*args, timeout=timeout)
    assert_no_traceback(proc)
    return proc


RUNS = {
    "diagnose": lambda cli, url: diagnose_json(cli, url),
    "map": lambda cli, url: json.loads(_run(cli, "map", "--no-probe", "--endpoint-url", url, *WHERE,
                                            "--format", "json").stdout),
    "plan": lambda cli, url: _run(cli, "fix", "alb-ecs", "--endpoint-url", url, *WHERE),
}


def _same_diagnosis(calm: dict, stormy: dict) -> None:
    assert stormy["_exit"] == calm["_exit"]
    assert _statuses(stormy) == _statuses(calm)
    assert stormy["root_causes"] == calm["root_causes"]
    assert stormy["api_calls"]["total"] == calm["api_calls"]["total"]  # the same calls, just retried
    assert stormy["api_calls"]["retries"] > 0


AUDIT = f"""\
targets:
  - name: by-domain
    domain: {DOMAIN}
    region: us-east-1
  - cluster: production-shine-cluster
    service: shine-api-gateway
    region: us-east-1
    role_arn: arn:aws:iam::123456789012:role/shine-ops-audit
playbooks: [snail-trail]
fail_on: high
"""


def _audit(cli, url: str, cfg: Path) -> tuple[int, list]:
    """``audit`` over two targets (one by domain, one by service through an assumed role): exit code and, per
    target, the statuses and root causes of report.json."""
    out = cfg.parent / f"audit-{url.rsplit(':', 1)[-1]}"  # one folder per endpoint (by its port)
    proc = _run(cli, "audit", "--config", str(cfg), "--out-dir", str(out), "--no-probe", "--endpoint-url", url)
    report = json.loads((out / "report.json").read_text())
    return proc.returncode, [(t["target"].get("domain"), t["target"].get("service"), _statuses(t), t["root_causes"])
                             for t in report["targets"]]


@pytest.mark.parametrize("scenario", ["healthy", "shine-incident"])
def test_diagnose_map_fix_plan_and_audit_are_the_same_through_30_percent_faults(cli, scenario_server, chaos_proxy,
                                                                                scenario: str, tmp_path: Path) -> None:
    endpoint = scenario_server(scenario)
    proxy = chaos_proxy(endpoint, fault_rate=RATE, seed=SEED)
    cfg = tmp_path / "audit.yaml"
    cfg.write_text(AUDIT)
    runs = dict(RUNS, audit=lambda cli, url: _audit(cli, url, cfg))

    # every run here only reads: direct and proxied side by side (the proxied ones wait out their back-off)
    jobs = {(kind, url): (lambda kind=kind, url=url: runs[kind](cli, url))
            for kind in runs for url in (endpoint, proxy.url)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        out = {key: f.result() for key, f in futures.items()}

    calm, stormy = out["diagnose", endpoint], out["diagnose", proxy.url]
    _same_diagnosis(calm, stormy)
    assert calm["_exit"] == (0 if scenario == "healthy" else 1)

    assert _stable(out["map", proxy.url]) == _stable(out["map", endpoint])

    plans = [out["plan", endpoint], out["plan", proxy.url]]
    assert plans[1].returncode == plans[0].returncode == 0
    assert _plan_text(plans[1].stdout.replace(proxy.url, endpoint)) == _plan_text(plans[0].stdout)
    if scenario == "healthy":
        assert "Nothing to change" in plans[0].stdout
    else:
        assert "sg.allow-alb-to-task" in plans[0].stdout

    assert out["audit", proxy.url] == out["audit", endpoint]
    assert out["audit", endpoint][0] == (0 if scenario == "healthy" else 1) and len(out["audit", endpoint][1]) == 2
    assert any(op.startswith("sts.AssumeRole") for op in proxy.forwarded)  # the audit's role, through faults too

    stats = proxy.stats()
    assert stats["injected"] >= 10, stats  # the runs above really went through faults
    faulted = {op.split(".")[0] for op in stats["injected_by_operation"]}
    assert len(faulted) >= 4, stats  # several services, several wire protocols


def test_fix_apply_through_30_percent_faults_repairs_the_incident_as_without_them(cli, scenario_server,
                                                                                  chaos_proxy) -> None:
    endpoint = scenario_server("shine-incident")
    direct = _run(cli, "fix", "alb-ecs", "--apply", "--yes", "--endpoint-url", endpoint, *WHERE)
    after_direct = diagnose_json(cli, endpoint)

    endpoint = scenario_server("shine-incident")  # the same incident, seeded afresh
    proxy = chaos_proxy(endpoint, fault_rate=RATE, seed=SEED + 1)
    stormy = _run(cli, "fix", "alb-ecs", "--apply", "--yes", "--endpoint-url", proxy.url, *WHERE)
    after_stormy = diagnose_json(cli, endpoint)

    assert stormy.returncode == direct.returncode
    assert _statuses(after_direct)["sg.alb-to-task-ingress"] == "pass"  # the fix did repair something
    assert _statuses(after_stormy) == _statuses(after_direct)
    assert after_stormy["root_causes"] == after_direct["root_causes"]
    mutating = [op for op in proxy.forwarded if not op.split(".")[1].startswith(("Describe", "List", "Get"))]
    assert mutating, "the fix made its changes through the proxy"


def test_identity_probe_succeeds_through_30_percent_faults(moto_server: str, chaos_proxy) -> None:
    from shine_ops.aws import Aws, ConnectionOptions

    proxy = chaos_proxy(moto_server, fault_rate=RATE, seed=SEED, services={"sts"})
    for _ in range(8):  # eight runs' first calls, a few of them answered by faults
        assert Aws(ConnectionOptions(endpoint_url=proxy.url, region="us-east-1")).identity()["Account"]
    assert proxy.injected["sts.GetCallerIdentity"] >= 2


def test_ctrl_c_during_a_slow_collection_ends_at_once(scenario_server, chaos_proxy, state_dir):
    """Ctrl-C while a collection round waits on a slow endpoint (2 s per exchange): the worker threads make no
    further call, so the run ends with exit 130 and one line after the calls in flight, not after the whole round
    (a diagnosis of the incident is about 30 calls)."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO, clean_env, ctrl_c_as_a_terminal_sends_it

    endpoint = scenario_server("shine-incident")
    proxy = chaos_proxy(endpoint, fault_rate=0.0, latency_s=2.0)
    proc = subprocess.Popen([sys.executable, "-m", "shine_ops", "diagnose", "--endpoint-url", proxy.url,
                             *WHERE, "--no-probe"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(state_dir), cwd=str(REPO), preexec_fn=ctrl_c_as_a_terminal_sends_it)
    try:
        deadline = time.monotonic() + 60
        while proxy.stats()["forwarded"] < 3 and time.monotonic() < deadline:  # the collection is under way
            time.sleep(0.1)
        assert proxy.stats()["forwarded"] >= 3, "the diagnosis never reached the endpoint"
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        out, err = proc.communicate(timeout=60)
        ended_after = time.monotonic() - interrupted
        made = proxy.stats()["forwarded"]
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    # measured: 0.2 s and 4 calls in all; before shine_ops.stopping, 6.3 s and 9 calls (the round went on).
    # Under 2 exchanges of latency: at most the calls in flight finish, no new one starts.
    assert ended_after < 4.0, f"ended {ended_after:.1f} s after Ctrl-C ({made} calls made)"
