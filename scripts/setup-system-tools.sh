#!/usr/bin/env bash
# Optional system tools for shine-ops' system-level tests: a browser, and a container engine with the reference
# service's image.
#
#   scripts/setup-system-tools.sh           install what is missing (Debian/Ubuntu, apt-get), build the image
#   scripts/setup-system-tools.sh --check   only report what is missing; exit 1 if anything is
#
# Idempotent: a tool already on PATH is left alone, and when nothing is missing the script exits 0
# without touching apt. Why a script and not a Python dependency: a real browser and a container engine are
# system packages. The HTML report test (tests/report/test_html_browser.py) loads the report in Debian's
# `chromium` headless; the container tests (`-m container`) run the reference service's image with Debian's
# `podman` + `runc`, built from the project's Dockerfile on a base `mmdebstrap` makes, pulled from Debian's
# `docker-registry` (the sandbox's stand-in for ECR). Each test skips, naming
# this script, where its tool is missing. The container tools are optional: failing to install them or to build
# the image (about 5 minutes cold; it downloads Debian packages and the service's wheels) only warns.
# SHINE_OPS_SKIP_IMAGE=1 skips the image build.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool on PATH -> Debian package that provides it
TOOLS=(
  "chromium:chromium"
)
# optional: the sandbox runs its tasks as containers with these (shine_ops/sandbox/image.py)
CONTAINER_TOOLS=(
  "podman:podman"
  "runc:runc"
  "mmdebstrap:mmdebstrap"
  "docker-registry:docker-registry"
)
export PATH="$PATH:/usr/sbin:/sbin"  # runc lives in /usr/sbin

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

missing=()
for entry in "${TOOLS[@]}"; do
  tool=${entry%%:*}
  package=${entry#*:}
  if command -v "$tool" >/dev/null 2>&1; then
    echo "ok: $tool ($(command -v "$tool"))"
  else
    echo "missing: $tool (Debian package $package)"
    missing+=("$package")
  fi
done
optional=()
for entry in "${CONTAINER_TOOLS[@]}"; do
  tool=${entry%%:*}
  package=${entry#*:}
  if command -v "$tool" >/dev/null 2>&1; then
    echo "ok: $tool ($(command -v "$tool"))"
  else
    echo "missing (optional, container tests skip): $tool (Debian package $package)"
    optional+=("$package")
  fi
done

# The image: built with a Python that has pip (the project's venv when it exists; CI runs this script before
# creating it), from this checkout's sources (shine_ops.sandbox.image needs only the standard library).
image_status() {
  python3 -c 'import sys; sys.path.insert(0, "."); from shine_ops.sandbox import image; r = image.unavailable_reason(); print("ok: image " + image.IMAGE if r is None else "missing (optional): " + r); sys.exit(r is not None)'
}
build_image() {
  if [ "${SHINE_OPS_SKIP_IMAGE:-0}" = 1 ]; then echo "image build skipped (SHINE_OPS_SKIP_IMAGE=1)"; return 0; fi
  command -v podman >/dev/null 2>&1 || { echo "warning: no podman: the container tests will skip" >&2; return 0; }
  if image_status; then return 0; fi
  local py=python3
  [ -x .venv/bin/python ] && py=.venv/bin/python
  if ! "$py" -m pip --version >/dev/null 2>&1; then
    local tmp
    tmp=$(mktemp -d)
    python3 -m venv "$tmp/venv" && py="$tmp/venv/bin/python" || { echo "warning: no pip to download the service's wheels: the container tests will skip" >&2; return 0; }
  fi
  echo "building the reference service's image (shine-ops sandbox image build)"
  if ! timeout 1800 "$py" -c 'import sys; sys.path.insert(0, "."); from shine_ops.sandbox import image; r = image.build(say=print); print(f"built {r.image}: {r.size_mb} MB in {r.seconds} s")'; then
    echo "warning: the image build failed: the container tests will skip" >&2
  fi
  return 0
}

if [ "$check_only" -eq 1 ]; then
  status=0
  [ ${#missing[@]} -eq 0 ] || status=1
  [ ${#optional[@]} -eq 0 ] || status=1
  image_status || status=1
  exit $status
fi

install_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "no apt-get here: install $* with your system's package manager" >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "run as root (or install sudo) to install: $*" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  ${sudo[@]+"${sudo[@]}"} apt-get update && ${sudo[@]+"${sudo[@]}"} apt-get install -y --no-install-recommends "$@"
}

if [ ${#optional[@]} -gt 0 ]; then
  install_packages "${optional[@]}" || echo "warning: could not install ${optional[*]}: the container tests will skip" >&2
fi
build_image

if [ ${#missing[@]} -eq 0 ]; then
  echo "all system tools present"
  exit 0
fi
install_packages "${missing[@]}" || exit 1
for entry in "${TOOLS[@]}"; do
  tool=${entry%%:*}
  command -v "$tool" >/dev/null 2>&1 || { echo "still missing after install: $tool" >&2; exit 1; }
done
echo "installed: ${missing[*]}"
