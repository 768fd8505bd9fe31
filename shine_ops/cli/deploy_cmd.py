"""``shine-ops deploy``: preflight, roll out (rolling, or blue-green with a gated weighted shift and
``--finalize``), wait, smoke-test, roll back on failure. This module parses the options into a
``shine_ops.deploy_request.DeployRequest``, calls ``run_deploy`` and renders (the preflight verdicts, the live
view, the result); the strategies live in ``shine_ops.deploy`` and ``shine_ops.deploy_bluegreen``."""

from __future__ import annotations

from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ConfigOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt, connect, guarded, say,
                                  settings_from)


@app.command()
@guarded
def deploy(
    cluster: str = typer.Option(..., "--cluster", help="ECS cluster."),
    service: str = typer.Option(..., "--service", help="ECS service."),
    image: Optional[str] = typer.Option(None, "--image", help="New container image URI."),
    model_uri: Optional[str] = typer.Option(None, "--model-uri", help="New MODEL_URI (local path or s3://)."),
    env: Optional[List[str]] = typer.Option(None, "--env", help="K=V environment change (repeatable)."),
    cpu: Optional[str] = typer.Option(None, "--cpu", help="Task CPU units."),
    memory: Optional[str] = typer.Option(None, "--memory", help="Task memory (MiB)."),
    strategy: str = typer.Option("rolling", "--strategy", help="rolling, or blue-green (green service, weighted "
                                                               "listener shift in gated steps)."),
    steps: str = typer.Option("10,50,100", "--steps", help="blue-green: green's traffic share at each step (%), "
                                                           "increasing, ending at 100."),
    finalize: bool = typer.Option(False, "--finalize", help="blue-green: green alone behind the listeners, blue "
                                                            "scaled to 0 and deleted (give either service)."),
    deadline: float = typer.Option(300.0, "--deadline", help="Seconds to wait for the rollout to be steady."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask."),
    probe_timeout: float = typer.Option(10.0, "--probe-timeout", help="Time budget of the smoke gates."),
    config: Optional[str] = ConfigOpt,
    profile: Optional[str] = ProfileOpt,
    region: Optional[str] = RegionOpt,
    endpoint_url: Optional[str] = EndpointOpt,
    sandbox: bool = SandboxOpt,
) -> None:
    """Deploy a new revision of a service safely: refused when it cannot work, rolled back when it fails."""
    import sys

    from shine_ops.config import load_config
    from shine_ops.deploy_request import DeployHooks, DeployRequest, run_deploy
    from shine_ops.errors import UsageError

    req = DeployRequest.from_options(cluster=cluster, service=service, image=image, model_uri=model_uri, env=env,
                                     cpu=cpu, memory=memory, strategy=strategy, steps=steps, finalize=finalize,
                                     deadline=deadline, probe_timeout=probe_timeout)
    if not yes and not sys.stdin.isatty():
        raise UsageError("deploy without --yes needs a terminal to ask on", hint="add --yes")
    cfg = load_config(config)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    from shine_ops.cli.model_cards import reference_service_card

    hooks = DeployHooks(say=say, confirm=lambda question: yes or typer.confirm(question, default=False),
                        preflight=lambda pre: _show_preflight(req, pre), watch=_DeployView(),
                        local_card=reference_service_card)
    outcome = run_deploy(req, aws=aws, config=cfg, settings=settings_from(cfg, st), sandbox_state=st, hooks=hooks)
    if outcome.status == "refused":
        typer.echo("deploy refused by preflight: nothing changed")
    for note in outcome.result.notes if outcome.result is not None else []:
        typer.echo(note)
    if outcome.status == "finalized":
        typer.echo(f"deploy {outcome.result.apply_id}: finalized")
        return
    if outcome.status == "deployed":
        typer.echo(f"deploy {outcome.result.apply_id}: {outcome.result.status}")
    raise typer.Exit(outcome.exit_code)


def _show_preflight(req, pre) -> None:
    """The preflight verdicts, one line per check, under a line naming the service and the changes."""
    typer.echo(f"preflight of {pre.service.key} ({pre.current_revision} + {req.describe_changes()}):")
    for f in pre.findings:
        typer.echo(f"  {f.status.upper():5} {f.check}: {f.summary}")


class _DeployView:
    """The live view of either strategy: a rolling deploy's status is one line on stderr whenever it changes;
    a blue-green status (it has ``weights``) is drawn by ``_BlueGreenView``."""

    def __init__(self) -> None:
        self.last: dict = {}
        self.blue_green: _BlueGreenView | None = None

    def __call__(self, status: dict) -> None:
        if "weights" in status:
            if self.blue_green is None:
                self.blue_green = _BlueGreenView()
            self.blue_green(status)
            return
        if status == self.last:
            return
        self.last = dict(status)
        say(f"  {status['taskDefinition']}: {status['running']}/{status['desired']} running, "
            f"targets {', '.join(status['targets']) or 'none'}"
            + (f"; {status['events'][0]}" if status["events"] else ""))


class _BlueGreenView:
    """The live view of a blue-green deploy: one line on stderr whenever the step, the weights, the counts or
    the target health change (a rich table per line, so it reads well in CI logs too)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.last: dict = {}

    def __call__(self, status: dict) -> None:
        if status == self.last:
            return
        self.last = dict(status)
        from rich.table import Table

        t = Table(show_header=False, box=None, pad_edge=False)
        w = status["weights"]
        green = status.get("green_targets")
        t.add_row(f"[bold]{status['step']}[/bold]", f"blue {w['blue']} / green {w['green']}",
                  "green " + (f"{status.get('green_running')}/{status.get('green_desired')} running, targets "
                              f"{', '.join(green) or 'none'}" if green is not None else "-"),
                  "blue targets " + (", ".join(status.get("blue_targets") or []) or "none"))
        self.console.print(t)
        for event in (status.get("events") or [])[:1]:
            self.console.print(f"  event: {event}")
