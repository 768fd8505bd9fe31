"""Helpers shared by the reference-service and smoke tests (imported as ``rs_helpers``)."""

from __future__ import annotations

import io
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

from shine_ops.probes.smoke import iou  # noqa: F401  (one IoU for the probe and the tests)

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "reference_service"
ASTRONAUT_FACE = (177, 66, 95, 95)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(arr, fmt: str = ".jpg") -> bytes:
    import cv2

    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(fmt, arr)
    assert ok
    return buf.tobytes()


def png(width=64, height=48, color=(200, 150, 120)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def venv_env(extra: dict) -> dict:
    env = dict(os.environ, **extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def start_server(cmd: list[str], env_extra: dict, tmp: Path, *, wait_ready: float = 40.0,
                 port: int | None = None) -> Server:
    """Starts ``cmd`` (cwd = repository root) on a free loopback port; waits until /ready is 200."""
    import requests

    port = port or free_port()
    env = venv_env({"HOST": "127.0.0.1", "PORT": str(port), **env_extra})
    log = tmp / f"server-{port}.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    server = Server(proc, port, log)
    deadline = time.monotonic() + wait_ready
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if requests.get(server.url + "/ready", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"server not ready in {wait_ready}s: {log.read_text()[-2000:]}")


def parse_dockerfile(path: Path = ROOT / "Dockerfile") -> dict:
    """Instructions of the project's Dockerfile (its last stage is the image): {'EXPOSE': [...], 'HEALTHCHECK':
    str, 'CMD': [...], 'ENV': {...}, 'ARG': {...}, 'COPY': [...], 'FROM': [...], ...}."""
    text = path.read_text().replace("\\\n", " ")
    out: dict = {"ENV": {}, "EXPOSE": [], "ARG": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op in ("ENV", "ARG"):
            for tok in shlex.split(rest):
                k, _, v = tok.partition("=")
                out[op][k] = v
        elif op == "EXPOSE":
            out["EXPOSE"] += rest.split()
        elif op == "HEALTHCHECK":
            out["HEALTHCHECK"] = rest
        elif op == "CMD":
            out["CMD"] = json.loads(rest)
        else:
            out.setdefault(op, []).append(rest)
    return out


def host_command(docker: dict) -> list[str]:
    """The image's CMD as it runs from the repository root: an argument naming a file the Dockerfile copies
    into its WORKDIR (``COPY reference_service/gunicorn.conf.py ./gunicorn.conf.py``) names its source."""
    copied = {}
    for line in docker.get("COPY", []):
        parts = [p for p in line.split() if not p.startswith("--")]
        if len(parts) == 2 and parts[1].startswith("./"):
            copied[parts[1][2:]] = parts[0]
    return [copied.get(arg, arg) for arg in docker["CMD"]]


def healthcheck_command(healthcheck: str) -> str:
    """The shell command of a HEALTHCHECK line (after its --options and 'CMD')."""
    _, sep, cmd = healthcheck.partition(" CMD ")
    assert sep, healthcheck
    return cmd.strip()


_OTHER_VERBS = ("checks_cmd", "diagnose", "map_cmd", "playbook_cmd", "sandbox_cmd")


def cli_module():
    """``shine_ops.cli``. Verb modules another engineer has not written yet in this tree are stubbed (only
    when their file is absent), so the smoke/model commands can be tested on their own."""
    import shine_ops

    cli_dir = Path(shine_ops.__file__).parent / "cli"
    for name in _OTHER_VERBS:
        full = f"shine_ops.cli.{name}"
        if full not in sys.modules and not (cli_dir / f"{name}.py").exists() and not (cli_dir / name).is_dir():
            sys.modules[full] = types.ModuleType(full)
    import shine_ops.cli as cli

    return cli


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Runs ``shine-ops ARGS`` in-process through ``main()`` (the console entry point)."""
    cli = cli_module()
    old = sys.argv
    sys.argv = ["shine-ops", *args]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CLI_BOOTSTRAP = (
    "import sys; sys.path.insert(0, {helpers!r}); import rs_helpers; cli = rs_helpers.cli_module(); "
    "sys.argv = ['shine-ops'] + sys.argv[1:]; cli.main()"
)


def cli_subprocess_cmd(args: list[str]) -> list[str]:
    """A real ``shine-ops`` process (via ``main()``, with the same stubbing as ``cli_module``)."""
    return [sys.executable, "-c", CLI_BOOTSTRAP.format(helpers=str(Path(__file__).parent)), *args]


def mocked_s3_bucket(monkeypatch, bucket: str):
    """An in-process S3 (moto) with one bucket, and no AWS variable that could point elsewhere."""
    from contextlib import contextmanager

    @contextmanager
    def cm():
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        from moto import mock_aws

        with mock_aws():
            import boto3

            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=bucket)
            yield client

    return cm()
