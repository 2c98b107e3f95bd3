#!/usr/bin/env bash
# Run a command with dev.env's settings underneath the shell's environment: a variable the shell
# already has (even empty) wins, as with compose, python-dotenv and direnv. So
#   NOTIFIER_WEBHOOK_URLS=http://127.0.0.1:6499/hook make run
# reaches the notifier. dev.env holds KEY=VALUE lines (no quoting, no expansion) and # comments.
#
#   bash scripts/with_dev_env.sh COMMAND [ARGUMENTS...]
#
# DEV_ENV_FILE  the file to read (default: dev.env beside this folder)
set -euo pipefail

env_file=${DEV_ENV_FILE:-$(dirname "${BASH_SOURCE[0]}")/../dev.env}
(($#)) || {
    echo "usage: $0 COMMAND [ARGUMENTS...]" >&2
    exit 2
}
while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || {
        echo "$env_file: not a KEY=VALUE line: $line" >&2
        exit 2
    }
    key=${BASH_REMATCH[1]}
    [[ -v $key ]] || export "$key=${BASH_REMATCH[2]}"
done <"$env_file"
exec "$@"
