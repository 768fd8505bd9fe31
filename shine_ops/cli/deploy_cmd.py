"""``shine-ops deploy``: preflight, roll out (rolling, or blue-green with a gated weighted shift and
``--finalize``), wait, smoke-test, roll back on failure. The blue-green logic lives in ``shine_ops.deploy_bluegreen``."""

from __future__ import annotations

from typing import List, Optional

import typer

from shine_ops.cli import app
from shine_ops.cli.common import (ConfigOpt, EndpointOpt, ProfileOpt, RegionOpt, SandboxOpt, choice, connect, guarded,
                                  say, settings_from)


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
    from shine_ops.deploy import preflight, roll_out, would_be
    from shine_ops.engine.runner import load_catalogue, run
    from shine_ops.errors import UsageError
    from shine_ops.fixes.journal import store_for
    from shine_ops.probes.service import probe_service
    from shine_ops.topology.collect import AREAS, Target

    choice(strategy, ("rolling", "blue-green"), "--strategy")
    step_list = _parse_steps(steps)
    changes: dict[str, str] = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env takes K=V, not {item!r}")
        changes[key] = value
    if model_uri:
        changes["MODEL_URI"] = model_uri
    if finalize and (image or changes or cpu or memory):
        raise UsageError("--finalize takes no changes", hint="finalize first, then deploy the next revision")
    if not finalize and not (image or changes or cpu or memory):
        raise UsageError("nothing to deploy", hint="give --image, --model-uri, --env, --cpu or --memory")
    if not yes and not sys.stdin.isatty():
        raise UsageError("deploy without --yes needs a terminal to ask on", hint="add --yes")
    cfg = load_config(config)
    aws, st = connect(profile=profile, region=region, endpoint_url=endpoint_url, sandbox=sandbox, config=cfg)
    if finalize:
        _finalize(aws, cfg, cluster, service, yes)
        return
    settings = settings_from(cfg, st)
    catalogue = load_catalogue()
    target = Target(cluster=cluster, service=service)
    report = run(aws, target, catalogue.load_playbook("snail-trail"), settings, areas=set(AREAS))
    svc = report.request_path.service
    if svc is None:
        raise UsageError(f"service {cluster}/{service} not found")
    current = report.snapshot.task_definitions[svc.task_definition].raw
    new_td = would_be(current, svc, image=image, env=changes, cpu=cpu, memory=memory)
    findings = preflight(catalogue, report, settings, new_td, aws=aws)
    failing = [f for f in findings if f.status == "fail"]
    typer.echo(f"preflight of {svc.key} ({svc.task_definition.split('/')[-1]} + "
               + ", ".join([f"image {image}"] * bool(image) + [f"{k}={v}" for k, v in changes.items()]
                           + [f"cpu {cpu}"] * bool(cpu) + [f"memory {memory}"] * bool(memory)) + "):")
    for f in findings:
        typer.echo(f"  {f.status.upper():5} {f.check}: {f.summary}")
    if failing:
        typer.echo("deploy refused by preflight: nothing changed")
        raise typer.Exit(1)
    if not yes and not typer.confirm(f"deploy to {svc.key}?", default=False):
        raise typer.Exit(1)
    domain = report.request_path.domain
    if not domain:
        say(f"no DNS record leads to {svc.key}: the smoke gates through the domain will be skipped")

    def gates():
        from shine_ops.engine.finding import Finding

        outs = probe_service(domain, settings, timeout_s=probe_timeout, sandbox_state=st)
        return [Finding.from_outcome(c, c, "high", o) for c, o in outs.items()]

    ident = aws.identity()
    store = store_for(cfg, aws, ident.get("Arn"))
    journal = store.open(lock=True)
    last: dict = {}

    def watch(status: dict) -> None:
        if status != last:
            last.clear()
            last.update(status)
            say(f"  {status['taskDefinition']}: {status['running']}/{status['desired']} running, "
                f"targets {', '.join(status['targets']) or 'none'}"
                + (f"; {status['events'][0]}" if status["events"] else ""))

    try:
        if strategy == "blue-green":
            from shine_ops.deploy_bluegreen import Gates, blue_green, direct_smoke

            def direct(tg_arn: str, targets: list) -> list:
                return direct_smoke(domain, settings, st, tg_arn, targets, probe_timeout)

            result = blue_green(aws, journal, who=ident.get("Arn"), report=report, new_td=new_td,
                                gates=Gates(domain=gates, direct=direct), say=say, steps=step_list,
                                deadline_s=deadline, watch=_BlueGreenView())
        else:
            result = roll_out(aws, journal, who=ident.get("Arn"), report=report, new_td=new_td, gates=gates,
                              say=say, deadline_s=deadline, watch=watch)
    finally:
        store.close()
    for note in result.notes:
        typer.echo(note)
    typer.echo(f"deploy {result.apply_id}: {result.status}")
    raise typer.Exit(result.exit_code)


def _parse_steps(text: str) -> tuple[int, ...]:
    """``10,50,100`` -> (10, 50, 100): increasing percentages in 1..100 ending at 100."""
    from shine_ops.errors import UsageError

    try:
        steps = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--steps takes percentages like 10,50,100, not {text!r}") from None
    if not steps or steps[-1] != 100 or any(not 0 < x <= 100 for x in steps) or list(steps) != sorted(set(steps)):
        raise UsageError(f"--steps must increase within 1..100 and end at 100, not {text!r}")
    return steps


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


def _finalize(aws, cfg, cluster: str, service: str, yes: bool) -> None:
    """``--finalize``: green alone behind the listeners, blue deleted; journaled."""
    from shine_ops.deploy_bluegreen import finalize
    from shine_ops.fixes.journal import store_for

    if not yes and not typer.confirm(f"finalize the blue-green deploy of {cluster}/{service}?", default=False):
        raise typer.Exit(1)
    ident = aws.identity()
    store = store_for(cfg, aws, ident.get("Arn"))
    journal = store.open(lock=True)
    try:
        result = finalize(aws, journal, who=ident.get("Arn"), cluster=cluster, service=service, say=say)
    finally:
        store.close()
    for note in result.notes:
        typer.echo(note)
    typer.echo(f"deploy {result.apply_id}: finalized")
