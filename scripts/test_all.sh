#!/usr/bin/env bash
# `make test`: every tier, in three runs side by side.
#
#   tiers        unit, integration and e2e, in the foreground, on TEST_WORKERS pytest-xdist
#                workers (default 3), a test file per worker at a time
#   system tiers the fault scenarios and the container tier, in a second pytest session
#   infra-check  Terraform, checkov and tests/infra (`make infra-check`)
#
# Much of each run waits: on fault scenarios held for their length, on image builds' downloads
# and disk, on subprocesses starting and polling, on Terraform. Side by side they fill the two
# cores instead of taking turns. Every session and worker has a LocalStack of its own
# (tests/support/artifacts.py keeps their state apart). The fault and container tiers run on one
# worker: they bind fixed ports and hold faults for set lengths. The background runs' output is
# shown whole when the foreground one ends, not interleaved with it; any run failing fails
# `make test`.
#
#   bash scripts/test_all.sh            # all three
#   bash scripts/test_all.sh ARGS...    # one pytest session with these arguments, nothing beside
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTEST=${PYTEST:-.venv/bin/pytest}

if (($#)); then
    exec "$PYTEST" "$@"
fi

mkdir -p artifacts
infra_log=artifacts/infra-check.log
system_log=artifacts/system-tiers.log

bash scripts/infra_check.sh >"$infra_log" 2>&1 &
infra_pid=$!
TEST_ARTIFACTS=artifacts/system-tiers TEST_PORT_BLOCK=1 "$PYTEST" -m "faults or containers" -p no:cacheprovider >"$system_log" 2>&1 &
system_pid=$!
# Ctrl-C or a failed run must not leave the others running behind the caller's back.
trap 'kill "$infra_pid" "$system_pid" 2>/dev/null' INT TERM

started=$(date +%s)
"$PYTEST" -m "unit or integration or e2e" -n "${TEST_WORKERS:-3}" --dist loadfile
tiers_status=$?
echo "unit, integration and e2e: $(($(date +%s) - started)) s"

wait "$system_pid"
system_status=$?
printf '\n==> faults and containers (ran beside; %s), done after %s s\n' "$system_log" "$(($(date +%s) - started))"
cat "$system_log"

wait "$infra_pid"
infra_status=$?
printf '\n==> make infra-check (ran beside; %s)\n' "$infra_log"
cat "$infra_log"

((tiers_status == 0)) || echo "unit, integration or e2e failed (exit $tiers_status)" >&2
((system_status == 0)) || echo "faults or containers failed (exit $system_status)" >&2
((infra_status == 0)) || echo "infra-check failed (exit $infra_status)" >&2
((tiers_status == 0 && system_status == 0 && infra_status == 0))
