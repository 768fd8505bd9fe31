"""Start, find and stop the sandbox daemon from the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable

from shine_ops.errors import SandboxError
from shine_ops.sandbox.state import clear_state, log_file, pid_alive, read_state, state_dir

DEFAULT_SCENARIO = "shine-incident"
START_TIMEOUT_S = 150.0


def running() -> dict[str, Any] | None:
    st = read_state()
    if st and st.get("status") == "ready" and pid_alive(st.get("pid")):
        return st
    return None


def _check_sandbox_extra() -> None:
    try:
        import moto  # noqa: F401
    except ModuleNotFoundError:
        raise SandboxError("the sandbox needs the 'sandbox' extra", hint="pip install 'shine-ops[sandbox]'") from None


def up(scenario: str = DEFAULT_SCENARIO, say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    from shine_ops.sandbox.scenario import load_scenario

    load_scenario(scenario)  # an unknown or broken scenario fails here, before any process starts
    _check_sandbox_extra()
    current = running()
    if current:
        if current.get("scenario") == scenario or scenario == current.get("scenario_file"):
            return current
        say(f"stopping the running sandbox (scenario {current.get('scenario')}) to start {scenario}")
        down()
    st = read_state()
    if st and st.get("status") == "starting" and pid_alive(st.get("pid")):
        raise SandboxError("another sandbox is starting", hint="wait, or run shine-ops sandbox down")
    clear_state()
    state_dir().mkdir(parents=True, exist_ok=True)
    log = open(log_file(), "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
    proc = subprocess.Popen([sys.executable, "-m", "shine_ops.sandbox.daemon", "--scenario", scenario],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        st = read_state()
        if st and st.get("pid") == proc.pid:
            if st.get("status") == "ready":
                return st
            if st.get("status") == "failed":
                proc.wait(timeout=10)
                clear_state(proc.pid)
                raise SandboxError(f"the sandbox failed to start: {st.get('error')}", hint=f"see {log_file()}")
        if proc.poll() is not None:
            raise SandboxError(f"the sandbox process exited with code {proc.returncode}", hint=f"see {log_file()}")
        time.sleep(0.1)
    proc.terminate()
    raise SandboxError(f"the sandbox did not start within {START_TIMEOUT_S:.0f} s", hint=f"see {log_file()}")


def down(timeout_s: float = 15.0) -> bool:
    st = read_state()
    if not st:
        return False
    pid = st.get("pid")
    if not pid_alive(pid):
        clear_state()
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)  # the daemon leads its own group, with its task processes
        except ProcessLookupError:
            pass
        if st.get("task_runtime") == "container":  # its containers are not in its group (podman's conmon owns them)
            from shine_ops.sandbox import container

            container.remove_leftovers(pid)
    clear_state()
    return True


def ensure_running(say: Callable[[str], None]) -> dict[str, Any]:
    st = running()
    if st:
        return st
    say(f"starting the sandbox (scenario {DEFAULT_SCENARIO}); stop it with: shine-ops sandbox down")
    return up(DEFAULT_SCENARIO, say=say)
