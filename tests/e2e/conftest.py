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
