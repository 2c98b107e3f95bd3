#!/usr/bin/env bash
# System packages the test suites need that pip cannot provide. Idempotent; quiet when present.
# Ends by checking that every program the suites call is there, so a package that stops pulling
# in another fails here, by name, not minutes later inside a test.
#
#   bash scripts/install_system_deps.sh           # install what is missing, then check
#   bash scripts/install_system_deps.sh --check   # only check
set -euo pipefail

uses_podman() { ! { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; }

# Every program the tiers call, by the path or name they call it with.
check_programs() {
  local absent=() program
  local wanted=(chromium npm docker-compose)
  command -v initdb >/dev/null 2>&1 || wanted+=(/usr/lib/postgresql/*/bin/initdb)
  if uses_podman; then
    # netavark and aardvark-dns are podman's network helpers, catatonit is what --init runs,
    # iptables is what netavark sets a compose network up with.
    wanted+=(podman runc debootstrap iptables /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns
      /usr/libexec/podman/catatonit)
  fi
  for program in "${wanted[@]}"; do
    if [[ $program == /* ]]; then
      [[ -x $program ]] || absent+=("$program")
    else
      command -v "$program" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$program" >/dev/null 2>&1 ||
        absent+=("$program")
    fi
  done
  if ((${#absent[@]})); then
    echo "missing after installing system packages: ${absent[*]}" >&2
    return 1
  fi
}

if [[ ${1:-} == --check ]]; then
  check_programs
  exit
fi

missing=()
# chromium: the browser tests (tests/e2e/test_web_page.py) drive Debian's build with Playwright;
# `playwright install` would download a browser of its own, which an offline machine cannot.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# node and npm: the AsyncAPI document is validated by the AsyncAPI parser (scripts/asyncapi.sh).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# The container tier (make images, tests/containers): podman builds and runs the images where no
# docker engine answers; debootstrap makes their base where no registry is reachable; netavark
# and aardvark-dns give a compose network its container names. The packages are installed without
# their recommendations, so two that podman only recommends are named: catatonit (what `--init`
# runs as the container's PID 1) and iptables (what netavark calls to set up a network).
if uses_podman; then
  for package in podman runc debootstrap netavark aardvark-dns catatonit iptables; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
fi
# docker-compose (v1): infra-check resolves compose.yaml with it, no engine needed. Installed here,
# before `make test` starts the checks beside pytest, so no apt-get runs during the tests.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
check_programs
