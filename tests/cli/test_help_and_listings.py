"""What a new user reads first: every --help names values in words (DOMAIN, FILE, SECONDS), never Python types
(``<str>``, ``<list[str]>``); ``sandbox scenarios`` lines up however long a name is."""

from __future__ import annotations

import re

from typer.testing import CliRunner


def _command_paths():
    import typer

    from shine_ops.cli import app

    def walk(cmd, prefix):
        yield prefix
        if hasattr(cmd, "commands"):  # a group (typer's own click)
            for name, sub in cmd.commands.items():
                yield from walk(sub, prefix + [name])

    yield from walk(typer.main.get_command(app), [])


def test_every_help_names_values_in_words_not_python_types():
    from shine_ops.cli import app

    paths = list(_command_paths())
    assert ["watch"] in paths and ["fix", "alb-ecs"] in paths and len(paths) > 20
    runner = CliRunner()
    for path in paths:
        out = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        assert not re.search(r"<(str|int|float|bool|list\[[a-z]+\]|path)>", out), (path, out)
    diag = runner.invoke(app, ["diagnose", "--help"], terminal_width=200).output
    for words in ("--domain DOMAIN", "--cluster CLUSTER", "--config FILE", "--probe-timeout SECONDS",
                  "--checks-dir DIR", "--fail-on SEVERITY", "--endpoint-url URL"):
        assert words in diag, words
    assert "{CHANGE_ID}" in runner.invoke(app, ["rollback", "--help"], terminal_width=200).output
    fix = runner.invoke(app, ["fix", "alb-ecs", "--help"], terminal_width=200).output
    assert "--wait-timeout SECONDS" in fix and "--only FIX_ID" in fix


def test_sandbox_scenarios_line_up_whatever_the_length_of_a_name():
    from shine_ops.cli import app
    from shine_ops.sandbox.scenario import describe_scenarios

    rows = [(n, " ".join(d.split())) for n, d in describe_scenarios()]
    longest = max(len(n) for n, _ in rows)
    assert longest > 24  # the old fixed width: these names used to push their descriptions out of line
    lines = CliRunner().invoke(app, ["sandbox", "scenarios"], terminal_width=300).output.splitlines()
    assert len(lines) == len(rows)
    columns = {line.index(desc) for line, (_, desc) in zip(lines, rows)}
    assert columns == {longest + 2}
