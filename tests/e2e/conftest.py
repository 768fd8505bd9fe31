"""End-to-end fixtures: the sandbox daemon, and a plain moto server seeded by a boto3 script."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A plain moto server on a free loopback port (no shine-ops scaffolding), as anyone could run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def fresh_moto(moto_server: str) -> str:
    """The module's moto server, emptied."""
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    return moto_server


def sandbox_up(cli, scenario: str) -> dict:
    import json

    proc = cli("sandbox", "up", "--scenario", scenario, timeout=150)
    assert proc.returncode == 0, proc.stderr
    st = json.loads((Path(cli.state_dir) / "sandbox.json").read_text())
    assert st["status"] == "ready" and st["scenario"] == scenario
    return st


DECLARATIONS = ("health_path", "service_paths", "startup_budget_s", "latency_budget_s", "frontend_origins",
                "serves_reference_api")


@pytest.fixture()
def scenario_server(moto_server: str, monkeypatch: pytest.MonkeyPatch, cli, tmp_path: Path):
    """Seed a named sandbox scenario into the module's plain moto server (reset first) and return its endpoint.

    Faster than the sandbox daemon (no service process): for configuration checks, driven with
    ``diagnose --endpoint-url ... --no-probe``. Target health is the sandbox's simulated one. The scenario's
    declarations (its ``target:`` block, as ``--sandbox`` reads them) are written to a ``shine-ops.yaml`` that
    the ``cli`` runs beside, as a user's project file would hold them.
    """
    import yaml

    project = tmp_path / "scenario-project"
    project.mkdir(exist_ok=True)
    monkeypatch.setattr(cli, "cwd", project)
    import requests
    from moto.moto_api import state_manager

    from shine_ops.aws import Aws, ConnectionOptions
    from shine_ops.sandbox import health
    from shine_ops.sandbox.scenario import load_scenario
    from shine_ops.sandbox.daemon import after_seed
    from shine_ops.sandbox.seed import seed

    from moto.elbv2 import models as elbv2_models

    # simulated health only for this test: restored at teardown, so later plain-moto tests see plain moto
    monkeypatch.setattr(elbv2_models.FakeTargetGroup, "health_for", elbv2_models.FakeTargetGroup.health_for)
    health.install()

    def make(name: str) -> str:
        import os

        requests.post(f"{moto_server}/moto-api/reset", timeout=10)
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10 ** 6})
        sc = load_scenario(name)
        declared = {k: v for k, v in (sc.get("target") or {}).items() if k in DECLARATIONS and v is not None}
        (project / "shine-ops.yaml").write_text(yaml.safe_dump(declared) if declared else "")
        aws = Aws(ConnectionOptions(endpoint_url=moto_server, region=sc["region"]))

        def before_service(spec: dict) -> None:
            monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(int(spec.get("running", spec.get("desired", 1)))))

        seeded = seed(aws, sc, before_service=before_service)
        after_seed(sc, seeded)  # the daemon's in-process scaffolding (stopped tasks' exit codes, events)
        os.environ.pop("MOTO_ECS_SERVICE_RUNNING", None)
        return moto_server

    return make


def diagnose_json(cli, endpoint: str, *args: str) -> dict:
    """Run ``diagnose`` (no live probes) against ``endpoint`` for the scenarios' domain and return the report."""
    import json

    proc = cli("diagnose", "--no-probe", "--endpoint-url", endpoint, "--region", "us-east-1",
               *(args or ("--domain", "api.shineskincollective.com")), "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    report["_exit"] = proc.returncode
    return report


@pytest.fixture()
def chaos_proxy():
    """Factory: ``chaos_proxy(upstream, fault_rate=0.3, latency_s=0.0, seed=0, services=None)`` starts a wire
    proxy (shine_ops/testing/wire_proxy.py) in front of a loopback moto server and returns it (``.url`` to point
    the CLI at, ``.injected`` per operation). Every proxy started is stopped at teardown."""
    from shine_ops.testing.wire_proxy import WireProxy

    started: list[WireProxy] = []

    def make(upstream: str, *, fault_rate: float = 0.3, latency_s: float = 0.0, seed: int = 0,
             services=None) -> WireProxy:
        proxy = WireProxy(upstream, fault_rate=fault_rate, latency_s=latency_s, seed=seed, services=services).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
