"""The reference service's container image: the engine that runs it here, and its build.

Why podman with runc and explicit ulimits: on this project's machines (and CI) Debian's podman works rootful,
but its default ``crun`` fails on hybrid cgroups and its default ulimits exceed what the machine allows, so
every podman call goes through ``engine_command()`` and every run adds ``RUN_LIMITS``.

Why a local base: no public container registry is reachable here, so ``python:3.11-slim`` (the Dockerfile's
default, for users) cannot be pulled. The build makes a base from Debian's packages with ``mmdebstrap`` and
``podman import``, downloads the service's wheels on the host (pip, as ``pip install`` does) and builds from the
project's ``Dockerfile`` with the network off. It installs no system package itself: a missing tool is named
with the Debian package that provides it (``scripts/setup-system-tools.sh`` installs them).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shine_ops.errors import SandboxError

IMAGE = "localhost/shine-reference-service:latest"
LOCAL_BASE = "localhost/shine-ops-base:bookworm"
PUBLIC_BASE = "python:3.11-slim"
BASE_PACKAGES = ["python3", "python3-venv", "passwd"]  # what the Dockerfile needs of a base: python3 -m venv, useradd
RUN_LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
RUNC = "/usr/sbin/runc"
# tool -> Debian package; the build needs all three, running containers needs podman and runc
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}
# what the build context holds (the same list as .dockerignore's allow-list)
CONTEXT_PATHS = ["pyproject.toml", "README.md", "Dockerfile", ".dockerignore", "shine_ops", "reference_service",
                 "checks", "playbooks"]
WHEELS_DIR = ".image-wheels"


@dataclass
class BuildResult:
    image: str
    base: str
    seconds: float
    size_bytes: int
    steps: list[str] = field(default_factory=list)  # what the build did, for the CLI and the bench

    @property
    def size_mb(self) -> float:
        return round(self.size_bytes / 1e6, 1)


def project_root() -> Path:
    """The repository (a source checkout): the Dockerfile is not shipped in the wheel."""
    return Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    d = os.environ.get("SHINE_OPS_IMAGE_CACHE") or str(Path.home() / ".cache" / "shine-ops" / "image")
    return Path(d)


def _which(tool: str) -> str | None:
    if tool == "runc" and os.path.exists(RUNC):
        return RUNC
    return shutil.which(tool)


def missing_tools(tools: list[str] | None = None) -> dict[str, str]:
    """tool -> Debian package, for each of ``tools`` (default: all the build needs) not installed."""
    return {t: TOOLS[t] for t in (tools or list(TOOLS)) if _which(t) is None}


def engine_command() -> list[str]:
    """``podman --runtime <runc>``: the prefix of every podman call (see the module docstring)."""
    podman = _which("podman") or "podman"
    runc = _which("runc")
    return [podman, "--runtime", runc] if runc else [podman]


def engine_unavailable_reason() -> str | None:
    """Why containers cannot run here (no podman or runc), or None."""
    missing = missing_tools(["podman", "runc"])
    if missing:
        return (f"no container engine ({', '.join(missing)} missing): apt-get install "
                f"{' '.join(sorted(set(missing.values())))} (or run scripts/setup-system-tools.sh)")
    return None


def podman(*args: str, timeout: float = 60.0, check: bool = False) -> subprocess.CompletedProcess:
    """Runs podman from the state folder: the conmon it starts for a container keeps podman's working directory
    and leaves an ``oom`` marker file there when the memory limit kills the container (seen here with runc);
    it must not land in the user's (or the repository's) current folder."""
    from shine_ops.config import state_dir

    work = state_dir()
    work.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([*engine_command(), *args], capture_output=True, text=True, timeout=timeout, cwd=work)
    if check and proc.returncode != 0:
        raise SandboxError(f"podman {args[0]} failed: {(proc.stderr or proc.stdout).strip()[-800:]}",
                           hint="see `podman info`; containers run with --runtime " + RUNC)
    return proc


def image_exists(image: str = IMAGE) -> bool:
    if engine_unavailable_reason():
        return False
    try:
        return podman("image", "exists", image, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def image_id(image: str = IMAGE) -> str:
    """The image's id (the digest of its config, as a registry's manifest names it)."""
    return podman("image", "inspect", image, "--format", "{{.Id}}", timeout=30, check=True).stdout.strip()


def image_size(image: str = IMAGE) -> int:
    out = podman("image", "inspect", image, "--format", "{{.Size}}", timeout=30, check=True).stdout.strip()
    return int(out or 0)


def unavailable_reason(image: str = IMAGE) -> str | None:
    """Why the sandbox cannot run tasks as containers (no engine, or the image is not built), or None."""
    reason = engine_unavailable_reason()
    if reason:
        return reason
    if not image_exists(image):
        return f"the image {image} is not built: run `shine-ops sandbox image build`"
    return None


def _service_requirements(root: Path) -> list[str]:
    """What the image installs, read from pyproject: the core and 'service' dependencies, and the build
    backend (pip builds the project inside the image, offline)."""
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text())
    return [*project["project"]["dependencies"], *project["project"]["optional-dependencies"]["service"],
            *project["build-system"]["requires"], "wheel"]


def ensure_wheels(root: Path, say: Callable[[str], None]) -> tuple[Path, bool]:
    """Download the wheels the image installs into the cache (once per requirement set). Returns (dir,
    downloaded now)."""
    reqs = _service_requirements(root)
    digest = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:16]
    wheels = cache_dir() / f"wheels-{digest}"
    if (wheels / ".complete").exists():
        return wheels, False
    say(f"downloading the service's wheels into {wheels} (pip download; uses the package index)")
    wheels.mkdir(parents=True, exist_ok=True)
    req_file = wheels / "requirements.txt"
    req_file.write_text("\n".join(reqs) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                           "--dest", str(wheels), "-r", str(req_file)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SandboxError(f"pip download of the service's wheels failed: {proc.stderr.strip()[-800:]}",
                           hint="the build needs the package index once, as pip install does")
    (wheels / ".complete").write_text(digest)
    return wheels, True


def ensure_local_base(say: Callable[[str], None]) -> bool:
    """The Debian base image (mmdebstrap + podman import), made once. Returns whether it was made now."""
    if podman("image", "exists", LOCAL_BASE, timeout=30).returncode == 0:
        return False
    missing = missing_tools(["mmdebstrap"])
    if missing:
        raise SandboxError("making the local Debian base needs mmdebstrap",
                           hint="apt-get install mmdebstrap (or run scripts/setup-system-tools.sh), "
                                f"or pass --base {PUBLIC_BASE} where a registry is reachable")
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    tar = out / "base-rootfs.tar"
    say(f"making the Debian base {LOCAL_BASE} with mmdebstrap (about 2 minutes; uses Debian's archive)")
    proc = subprocess.run(["mmdebstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES), "bookworm",
                           str(tar)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SandboxError(f"mmdebstrap failed: {proc.stderr.strip()[-800:]}",
                           hint="it needs root and Debian's archive (apt sources)")
    podman("import", "--change", 'CMD ["python3"]', str(tar), LOCAL_BASE, timeout=600, check=True)
    tar.unlink(missing_ok=True)
    return True


def stage_context(root: Path, wheels: Path | None) -> Path:
    """A build context holding only what the image needs (and the wheels, hard-linked when possible)."""
    ctx = cache_dir() / "context"
    for name in [*CONTEXT_PATHS, WHEELS_DIR]:
        target = ctx / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    ctx.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CONTEXT_PATHS:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, ctx / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, ctx / name)
    if wheels is not None:
        dest = ctx / WHEELS_DIR
        dest.mkdir()
        for whl in wheels.glob("*.whl"):
            try:
                os.link(whl, dest / whl.name)
            except OSError:
                shutil.copy2(whl, dest / whl.name)
    return ctx


def build(*, base: str | None = None, image: str = IMAGE, offline: bool | None = None, no_cache: bool = False,
          say: Callable[[str], None] = lambda _m: None) -> BuildResult:
    """Build ``image`` from the project's Dockerfile. ``base`` None: the local Debian base (made if absent) and
    the host-downloaded wheels, the network off during the build. A named base (e.g. python:3.11-slim) is
    pulled by podman; pip then uses the index unless ``offline``."""
    missing = missing_tools(["podman", "runc"] + (["mmdebstrap"] if base is None else []))
    if missing:
        pkgs = " ".join(sorted(set(missing.values())))
        raise SandboxError(f"building the image needs {', '.join(missing)} (Debian packages: {pkgs})",
                           hint=f"apt-get install {pkgs} (or run scripts/setup-system-tools.sh)")
    root = project_root()
    if not (root / "Dockerfile").is_file():
        raise SandboxError(f"no Dockerfile at {root}", hint="build from a source checkout of shine-ops")
    started = time.monotonic()
    steps: list[str] = []
    use_local = base is None
    if use_local and ensure_local_base(say):
        steps.append(f"made the base {LOCAL_BASE}")
    offline = use_local if offline is None else offline
    wheels = None
    if offline:
        wheels, fresh = ensure_wheels(root, say)
        if fresh:
            steps.append("downloaded the wheels")
    ctx = stage_context(root, wheels)
    base_ref = LOCAL_BASE if use_local else str(base)
    say(f"building {image} from {root / 'Dockerfile'} on {base_ref}")
    args = ["build", "--format", "docker", "--build-arg", f"BASE={base_ref}", "-t", image, "-f",
            str(ctx / "Dockerfile")]
    if use_local:
        args += ["--pull=never"]
    if offline:
        args += ["--network", "none"]
    if no_cache:
        args += ["--no-cache"]
    proc = podman(*args, str(ctx), timeout=3600)
    if proc.returncode != 0:
        raise SandboxError(f"the image build failed: {(proc.stderr or proc.stdout).strip()[-1500:]}",
                           hint="see the build output above; a missing wheel means: delete "
                                f"{cache_dir()} and build again")
    steps.append("built the image")
    return BuildResult(image=image, base=base_ref, seconds=round(time.monotonic() - started, 1),
                       size_bytes=image_size(image), steps=steps)

