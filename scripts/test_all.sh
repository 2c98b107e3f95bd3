#!/usr/bin/env bash
# `make test`'s two halves side by side: pytest (every tier) in the foreground and the offline
# infrastructure checks (`make infra-check`) in the background. The checks spend most of their
# time in Terraform and checkov on one core while much of pytest waits on its subprocesses, so
# together they end minutes sooner than one after the other. The checks' output is shown whole
# once pytest ends, not interleaved with it; either half failing fails the run.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTEST=${PYTEST:-.venv/bin/pytest}
mkdir -p artifacts
infra_log=artifacts/infra-check.log

bash scripts/infra_check.sh >"$infra_log" 2>&1 &
infra_pid=$!
# Ctrl-C or a failed pytest must not leave the checks running behind the caller's back.
trap 'kill "$infra_pid" 2>/dev/null' INT TERM

"$PYTEST" "$@"
pytest_status=$?

wait "$infra_pid"
infra_status=$?
printf '\n==> make infra-check (ran beside pytest; %s)\n' "$infra_log"
cat "$infra_log"

if ((pytest_status != 0)); then
    echo "pytest failed (exit $pytest_status)" >&2
fi
if ((infra_status != 0)); then
    echo "infra-check failed (exit $infra_status)" >&2
fi
((pytest_status == 0 && infra_status == 0))
