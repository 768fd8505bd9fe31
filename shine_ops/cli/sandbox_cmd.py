"""``shine-ops sandbox up|down|status|scenarios``: the embedded AWS emulator."""

from __future__ import annotations

import json

import typer

from shine_ops.cli import app
from shine_ops.cli.common import guarded, say

sandbox_app = typer.Typer(help="The embedded sandbox: a local AWS emulator seeded with a scenario.",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("up")
@guarded
def up(scenario: str = typer.Option("shine-incident", "--scenario", help="Scenario name (see: sandbox scenarios) or file.")) -> None:
    """Start the sandbox in the background and seed it (restarts it if another scenario runs)."""
    from shine_ops.sandbox import control

    st = control.up(scenario, say=say)
    typer.echo(f"sandbox up: scenario {st['scenario']} at {st['endpoint']} (pid {st['pid']}, "
               f"seeded with {st.get('seed_calls', '?')} API calls in {st.get('seeded_in_s', '?')} s)")
    if st.get("alb_endpoint"):
        typer.echo(f"load balancer emulator at {st['alb_endpoint']} (send the domain as Host header); "
                   f"local tasks: {st.get('service_runner')}")
    if st.get("task_runtime_note"):  # which mode runs the tasks, and why (SHINE_OPS_SANDBOX_RUNTIME)
        typer.echo(f"task runtime {st.get('task_runtime', 'process')}: {st['task_runtime_note']}")
    target = {k: v for k, v in (st.get("target") or {}).items() if k in ("domain", "cluster", "service")}
    if target:
        typer.echo("try: shine-ops diagnose --sandbox" + "".join(f" --{k} {v}" for k, v in target.items()))


@sandbox_app.command("down")
@guarded
def down() -> None:
    """Stop the sandbox (its state is lost)."""
    from shine_ops.sandbox import control

    typer.echo("sandbox stopped" if control.down() else "no sandbox was running")


@sandbox_app.command("status")
@guarded
def status(as_json: bool = typer.Option(False, "--json", help="Print the state as JSON.")) -> None:
    """Say whether the sandbox runs, where, and with which scenario (exit 1 when it does not run)."""
    from shine_ops.sandbox import control

    st = control.running()
    if as_json:
        typer.echo(json.dumps(st or {"status": "stopped"}, indent=2))
    elif st:
        typer.echo(f"running: scenario {st['scenario']} at {st['endpoint']} (pid {st['pid']}); "
                   f"task runtime {st.get('task_runtime', 'process')}: {st.get('task_runtime_note') or '-'}")
    else:
        typer.echo("stopped")
    raise typer.Exit(0 if st else 1)


@sandbox_app.command("scenarios")
@guarded
def scenarios() -> None:
    """List the scenarios the sandbox can seed."""
    from shine_ops.sandbox.scenario import describe_scenarios

    rows = [(name, " ".join(str(desc).split())) for name, desc in describe_scenarios()]  # one line each
    width = max((len(name) for name, _ in rows), default=0)  # the longest name sets the column: nothing misaligns
    for name, desc in rows:
        typer.echo(f"{name:<{width}}  {desc}")


image_app = typer.Typer(help="The reference service's container image (the sandbox runs its tasks in it).",
                        no_args_is_help=True)
sandbox_app.add_typer(image_app, name="image")


@image_app.command("build")
@guarded
def image_build(base: str = typer.Option(None, "--base", metavar="IMAGE",
                                         help="Base image (e.g. python:3.11-slim where a registry is reachable); "
                                              "default: a Debian base made here with mmdebstrap."),
                as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Build the reference service's image from the project's Dockerfile (installs no system package: it
    names the missing Debian packages)."""
    from shine_ops.sandbox import image

    result = image.build(base=base, say=say)
    if as_json:
        typer.echo(json.dumps({"image": result.image, "base": result.base, "seconds": result.seconds,
                               "size_bytes": result.size_bytes, "steps": result.steps}, indent=2))
        return
    typer.echo(f"built {result.image} on {result.base}: {result.size_mb} MB in {result.seconds} s "
               f"({'; '.join(result.steps)})")


@image_app.command("status")
@guarded
def image_status() -> None:
    """Say whether the sandbox can run tasks as containers here, and why not (exit 1 when it cannot)."""
    from shine_ops.sandbox import image

    reason = image.unavailable_reason()
    if reason:
        typer.echo(f"process mode: {reason}")
        raise typer.Exit(1)
    typer.echo(f"container mode: {image.IMAGE} ({image.image_size() / 1e6:.0f} MB) runs with podman")
