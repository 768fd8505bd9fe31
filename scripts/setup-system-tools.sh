#!/usr/bin/env bash
# Optional system tools for shine-ops' browser tests (and, later, other system-level tests).
#
#   scripts/setup-system-tools.sh           install what is missing (Debian/Ubuntu, apt-get)
#   scripts/setup-system-tools.sh --check   only report what is missing; exit 1 if anything is
#
# Idempotent: a tool already on PATH is left alone, and when nothing is missing the script exits 0
# without touching apt. Why a script and not a Python dependency: a real browser is a system package
# (Debian's `chromium`); the HTML report test (tests/report/test_html_browser.py) loads the report in
# it headless and skips, naming this script, where no browser is installed.
set -euo pipefail

# tool on PATH -> Debian package that provides it
TOOLS=(
  "chromium:chromium"
)

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
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

if [ ${#missing[@]} -eq 0 ]; then
  echo "all system tools present"
  exit 0
fi
if [ "$check_only" -eq 1 ]; then
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install ${missing[*]} with your system's package manager" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "run as root (or install sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
${SUDO[@]+"${SUDO[@]}"} apt-get update
${SUDO[@]+"${SUDO[@]}"} apt-get install -y --no-install-recommends "${missing[@]}"

for entry in "${TOOLS[@]}"; do
  tool=${entry%%:*}
  command -v "$tool" >/dev/null 2>&1 || { echo "still missing after install: $tool" >&2; exit 1; }
done
echo "installed: ${missing[*]}"
