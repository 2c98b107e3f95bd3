#!/usr/bin/env bash
# The AsyncAPI document's validator: the AsyncAPI parser from npm, pinned in tools/asyncapi/.
#
#   bash scripts/asyncapi.sh install          # npm ci into tools/asyncapi/node_modules, once per lock file
#   bash scripts/asyncapi.sh validate [FILE…] # exit 1 if a document is invalid (default: the committed one)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOL=$ROOT/tools/asyncapi
MODULES=$TOOL/node_modules
DOCUMENT=$ROOT/shared/src/taskoverflow_shared/asyncapi.json

usage() {
    sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Reinstalled only when package-lock.json changes; a lock, because a test session and `make test`
# may ask at once; node_modules counts as installed only once `npm ci` completed.
install() {
    local wanted stamp=$MODULES/.package-lock.sha256
    wanted=$(sha256sum "$TOOL/package-lock.json" | cut -d' ' -f1)
    exec 9>"$TOOL/.install.lock"
    flock 9
    if [[ $(cat "$stamp" 2>/dev/null) == "$wanted" ]]; then
        return
    fi
    echo "installing the AsyncAPI parser into $MODULES (about 55 MB, 20 s the first time)" >&2
    local log
    log=$(mktemp)
    # --ignore-scripts: nothing the parser needs runs at install time.
    if ! npm ci --prefix "$TOOL" --no-audit --no-fund --ignore-scripts >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "could not install the AsyncAPI parser (see above)" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$wanted" >"$stamp"
}

case ${1:-} in
    install) install ;;
    validate)
        install
        shift
        node "$TOOL/validate.mjs" "${@:-$DOCUMENT}"
        ;;
    *) usage ;;
esac
