"""Property-based: whatever a hurried person types as options, shine-ops answers with an exit code of the
contract and a message, never a traceback. In process (typer's runner) against a closed loopback port."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shine_ops.cli import app


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


ENDPOINT = f"http://127.0.0.1:{_closed_port()}"
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
COMMANDS = {
    "diagnose": {"--format": st.sampled_from(["table", "json", "yaml", "", "JSON"]) | junk,
                 "--fail-on": st.sampled_from(["high", "critical", "urgent", ""]) | junk,
                 "--playbook": st.sampled_from(["snail-trail", "tortoise", "nope", "x.yaml"]) | junk,
                 "--probe-timeout": st.sampled_from(["0", "-1", "abc", "1e9", "2"]),
                 "--domain": st.sampled_from(["api.example.com", "", "..", "a" * 300]) | junk,
                 "--cluster": junk, "--service": junk},
    "fix alb-ecs": {"--only": st.sampled_from(["sg.allow-alb-to-task", "nope", ""]) | junk,
                    "--expect-account": junk, "--domain": junk, "--plan": junk},
    "triage": {"--symptom": st.sampled_from(["504", "502", "slow", ""]) | junk, "--domain": junk},
    "map": {"--format": st.sampled_from(["tree", "json", "svg"]) | junk, "--domain": junk},
    "iam-policy": {"--mode": st.sampled_from(["read", "fix", "admin"]) | junk},
    "deploy": {"--cluster": junk, "--service": junk, "--env": st.sampled_from(["A=1", "noequals", "=x"]) | junk,
               "--strategy": st.sampled_from(["rolling", "blue-green", "canary"]) | junk},
}


@st.composite
def invocations(draw):
    command = draw(st.sampled_from(sorted(COMMANDS)))
    opts = COMMANDS[command]
    args = command.split()
    for name in draw(st.lists(st.sampled_from(sorted(opts)), max_size=4, unique=True)):
        args += [name, draw(opts[name])]
    if command not in ("iam-policy",):
        args += ["--endpoint-url", ENDPOINT, "--region", "us-east-1"]
    if draw(st.booleans()):
        args.append(draw(st.sampled_from(["--yes", "--apply", "--no-probe", "--bogus-flag"])))
    return args


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(args=invocations())
def test_random_options_never_crash(args, tmp_path_factory):
    runner = CliRunner()
    result = runner.invoke(app, args, catch_exceptions=True)
    assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.output[-400:])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
