"""Shared fixtures: an isolated state folder, AWS variables that can only reach loopback, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def clean_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """An environment with no real AWS identity: dummy keys, no profile, no metadata service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "SHINE_OPS_STATE_DIR": str(state_dir),
        "NO_COLOR": "1", "COLUMNS": "200",
    })
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shine-ops-state")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("SHINE_OPS_STATE_DIR", str(state_dir))


class Cli:
    """Runs the real ``shine-ops`` console entry point in a subprocess."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.cwd: Path | None = None  # where a seeded scenario's declarations (shine-ops.yaml) wait, if any

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
                 cwd: str | Path | None = None) -> subprocess.CompletedProcess:
        full_env = clean_env(self.state_dir, **(env or {}))
        return subprocess.run([sys.executable, "-m", "shine_ops", *args], capture_output=True, text=True,
                              env=full_env, timeout=timeout, cwd=str(cwd or self.cwd or REPO))


@pytest.fixture(scope="session")
def cli(state_dir: Path) -> Cli:
    return Cli(state_dir)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def ctrl_c_as_a_terminal_sends_it() -> None:
    """``preexec_fn`` for a child a test will send SIGINT: Ctrl-C's default disposition, as in a shell.

    Why: pytest-xdist's workers ignore SIGINT, an ignored signal stays ignored across exec, and Python then
    installs no KeyboardInterrupt handler: the child would never see the Ctrl-C the test sends."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
