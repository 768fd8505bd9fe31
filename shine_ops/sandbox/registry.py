"""The sandbox's stand-in for ECR: Debian's ``docker-registry`` on loopback, so container tasks pull their image
by the task definition's reference, as ECS pulls from ECR, and a tag nobody pushed fails as ECS fails.

Why the seeded images are pushed: a scenario's task definitions name what the team had deployed (those tags
existed in ECR); the sandbox pushes the reference service's image under each, once. A revision naming any
other tag (``deploy --image`` of a tag never pushed) fails to pull: its task stops with ECS's
``CannotPullContainerError`` and stop code ``TaskFailedToStart``, and the running task stays, as ECS keeps the
old tasks of a deployment whose new ones cannot start.

Why the storage outlives the sandbox (``image.cache_dir()/registry``): pushing 2 GB of layers costs about 50 s
the first time (compression); with the blobs already there a push is a manifest (well under a second).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shine_ops.sandbox import image as images

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PULL_FAILED = ("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
               "{uri}: not found")


@dataclass
class Registry:
    endpoint: str  # host:port on loopback
    proc: subprocess.Popen
    storage: Path

    def ref_for(self, uri: str) -> str:
        """The stand-in's reference for an ECR (or any) image URI: same repository path and tag."""
        rest = uri.split("/", 1)[1] if "/" in uri and ("." in uri.split("/")[0] or ":" in uri.split("/")[0]) else uri
        if "@" not in rest and ":" not in rest.rsplit("/", 1)[-1]:
            rest += ":latest"
        return f"{self.endpoint}/{rest}"

    def push(self, uri: str, local: str = images.IMAGE) -> bool:
        """Push ``local`` under ``uri``'s reference; False when the stand-in already holds exactly that image
        there (its storage outlives sandboxes, and podman spends about 20 s re-compressing 2 GB of layers to
        find every blob present: the tag's manifest naming the local image's config is proof enough)."""
        if self.holds(uri, images.image_id(local)):
            return False
        images.podman("push", "--tls-verify=false", local, self.ref_for(uri), timeout=900, check=True)
        return True

    def holds(self, uri: str, image_id: str) -> bool:
        """Whether the stand-in's tag for ``uri`` is the image ``image_id`` (its manifest's config digest)."""
        import requests

        repo, _, tag = self.ref_for(uri).split("/", 1)[1].rpartition(":")
        try:
            r = requests.get(f"http://{self.endpoint}/v2/{repo}/manifests/{tag}", timeout=5, headers={
                "Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"})
            digest = (r.json().get("config") or {}).get("digest", "") if r.status_code == 200 else ""
        except (requests.RequestException, ValueError):
            return False
        return bool(image_id) and digest.split(":")[-1] == image_id.split(":")[-1]

    def pull(self, uri: str) -> tuple[str | None, str]:
        """(image id, "") or (None, ECS's CannotPullContainerError text)."""
        ref = self.ref_for(uri)
        try:
            proc = images.podman("pull", "--quiet", "--tls-verify=false", ref, timeout=600)
        except subprocess.TimeoutExpired:
            return None, PULL_FAILED.format(uri=uri).replace("not found", "timed out")
        if proc.returncode != 0:
            return None, PULL_FAILED.format(uri=uri)
        image_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ref
        images.podman("untag", image_id, ref, timeout=60)  # keep podman's list free of per-sandbox names
        return image_id, ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def unavailable_reason() -> str | None:
    if shutil.which("docker-registry") is None:
        return "no docker-registry (Debian package docker-registry): tasks run the local image without a pull"
    return None


def start(log_dir: str) -> Registry:
    """Start the stand-in on a free loopback port; wait until it answers /v2/."""
    storage = images.cache_dir() / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = Path(log_dir) / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    log = open(os.path.join(log_dir, "registry.log"), "ab")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log)
    log.close()
    import requests

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                return Registry(endpoint=f"127.0.0.1:{port}", proc=proc, storage=storage)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    from shine_ops.errors import SandboxError

    raise SandboxError("the registry stand-in (docker-registry) did not start", hint=f"see {log_dir}/registry.log")
