#!/usr/bin/env bash
# System packages `make bench` needs that pip cannot provide. Idempotent; quiet when present.
set -euo pipefail
missing=()
# redis-server: the broker and result backend of the reference design (bench/reference_design).
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
