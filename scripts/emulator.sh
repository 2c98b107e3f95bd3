#!/usr/bin/env bash
# The AWS emulator of `make run` and of the tests, on the host, without Docker.
#
#   bash scripts/emulator.sh install        # LocalStack's venv (.venv-localstack), once per pin
#   bash scripts/emulator.sh serve          # in the foreground (honcho's `emulator` process)
#   bash scripts/emulator.sh wait [SECONDS] # until it is healthy (default 120 s)
#
# EMULATOR          localstack (default): LocalStack 4.13.1 (requirements-localstack.txt), which
#                   validates requests like AWS; moto: moto server from .venv, the light option
# EMULATOR_PORT     its port (default 4566)
# BIND_HOST         the address it listens on (default 127.0.0.1, this machine only; 0.0.0.0 opens it)
# LOCALSTACK_STATE  LocalStack's home, temporary and file-system folders (default data/localstack)
# LOCALSTACK_VENV   where LocalStack is installed (default .venv-localstack)
# PYTHON            interpreter for that venv (default python3.11)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EMULATOR=${EMULATOR:-localstack}
EMULATOR_PORT=${EMULATOR_PORT:-4566}
BIND_HOST=${BIND_HOST:-127.0.0.1}
LOCALSTACK_STATE=${LOCALSTACK_STATE:-$ROOT/data/localstack}
LOCALSTACK_VENV=${LOCALSTACK_VENV:-$ROOT/.venv-localstack}
LOCALSTACK_REQUIREMENTS=$ROOT/requirements-localstack.txt
PYTHON=${PYTHON:-python3.11}

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# (Re)install when requirements-localstack.txt changes. A lock, because several test sessions or
# a test session and `make run` may ask at once; the venv counts as installed only once complete.
install_localstack() {
    local wanted stamp=$LOCALSTACK_VENV/.requirements.sha256
    wanted=$(sha256sum "$LOCALSTACK_REQUIREMENTS" | cut -d' ' -f1)
    exec 9>"$LOCALSTACK_VENV.lock"
    flock 9
    if [[ -x $LOCALSTACK_VENV/bin/python && $(cat "$stamp" 2>/dev/null) == "$wanted" ]]; then
        return
    fi
    echo "installing LocalStack into $LOCALSTACK_VENV (about 500 MB, a minute or two the first time)" >&2
    rm -rf "$LOCALSTACK_VENV"
    "$PYTHON" -m venv "$LOCALSTACK_VENV"
    # --no-compile: byte-compiling all of LocalStack's dependencies costs a third of the install;
    # the modules it really imports are compiled on its first start.
    local log
    log=$(mktemp)
    if ! "$LOCALSTACK_VENV/bin/pip" install --quiet --no-compile --disable-pip-version-check \
        -r "$LOCALSTACK_REQUIREMENTS" >"$log" 2>&1; then
        cat "$log" >&2
        rm -rf "$LOCALSTACK_VENV" "$log"
        echo "could not install LocalStack (see above)" >&2
        exit 1
    fi
    rm -f "$log"
    echo '*' >"$LOCALSTACK_VENV/.gitignore"
    echo "$wanted" >"$stamp"
}

serve_localstack() {
    [[ -x $LOCALSTACK_VENV/bin/python ]] || {
        echo "LocalStack is not installed: run bash scripts/emulator.sh install" >&2
        exit 1
    }
    mkdir -p "$LOCALSTACK_STATE"/{home,tmp,filesystem}
    local address=127.0.0.1:$EMULATOR_PORT
    # The host looks like a container to LocalStack (OVERRIDE_IN_DOCKER=0 says it is not); it
    # must not start a DNS server or fetch a certificate (no network), and the path-style queue
    # URLs name the address it listens on. Its own clients must not inherit the system's
    # AWS_ENDPOINT_URL (dev.env's) or honcho's PORT. The twisted gateway (LocalStack's default)
    # keeps connections alive; under hypercorn it answers every request with `Connection: close`,
    # so each call, its own SNS-to-SQS deliveries included, opened a connection: measured on the
    # calendar benchmark, twisted took 47-51 ms of LocalStack CPU per job against 66-68, and 13-15
    # jobs/s against 12. Its twisted gateway ignores GATEWAY_LISTEN's host (it listened on 0.0.0.0):
    # scripts/localstack_main.py starts LocalStack with that host honoured.
    exec env -u AWS_ENDPOINT_URL -u PORT \
        OVERRIDE_IN_DOCKER=0 \
        GATEWAY_LISTEN="$BIND_HOST:$EMULATOR_PORT" \
        GATEWAY_SERVER=twisted \
        LOCALSTACK_HOST="$address" \
        SQS_ENDPOINT_STRATEGY=path \
        SERVICES=sns,sqs,s3,sts \
        EAGER_SERVICE_LOADING=1 \
        DNS_ADDRESS=0 \
        DISABLE_EVENTS=1 \
        SKIP_SSL_CERT_DOWNLOAD=1 \
        HOME="$LOCALSTACK_STATE/home" \
        TMPDIR="$LOCALSTACK_STATE/tmp" \
        FILESYSTEM_ROOT="$LOCALSTACK_STATE/filesystem" \
        "$LOCALSTACK_VENV/bin/python" "$ROOT/scripts/localstack_main.py"
}

serve_moto() {
    exec "$ROOT/.venv/bin/moto_server" -H "$BIND_HOST" -p "$EMULATOR_PORT"
}

# Healthy: LocalStack reports SNS, SQS, S3 and STS running; moto server answers at all.
wait_healthy() {
    local seconds=${1:-120}
    "$PYTHON" - "$EMULATOR" "$EMULATOR_PORT" "$seconds" <<'EOF'
import json, sys, time, urllib.request

emulator, port, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
path = "/_localstack/health" if emulator == "localstack" else "/moto-api/"
deadline = time.monotonic() + seconds
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            body = answer.read()
        if emulator == "moto":
            break
        services = json.loads(body)["services"]
        if all(services.get(name) in ("running", "available") for name in ("sns", "sqs", "s3", "sts")):
            break
    except (OSError, ValueError, KeyError):
        pass
    if time.monotonic() > deadline:
        sys.exit(f"{emulator} is not healthy on 127.0.0.1:{port} after {seconds:.0f} s")
    time.sleep(0.2)
print(f"{emulator} is healthy on 127.0.0.1:{port}", file=sys.stderr)
EOF
}

case $EMULATOR in
localstack | moto) ;;
*)
    echo "EMULATOR must be localstack or moto, not '$EMULATOR'" >&2
    exit 2
    ;;
esac

case ${1:-} in
install) [[ $EMULATOR == moto ]] || install_localstack ;; # moto server comes with .venv
serve) "serve_$EMULATOR" ;;
wait) wait_healthy "${2:-120}" ;;
*) usage ;;
esac
