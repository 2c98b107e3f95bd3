#!/usr/bin/env bash
# Build every service image from its Dockerfile (make images): with docker where a docker engine
# answers, otherwise with podman (Debian's, daemonless).
#
#   bash scripts/images.sh build [SERVICE...]  # taskoverflow/<service>:$IMAGE_TAG, every service by default
#   bash scripts/images.sh base                # only the base image the Dockerfiles start FROM
#   bash scripts/images.sh engine              # print the engine: docker or podman
#   bash scripts/images.sh build-emulators     # LocalStack and PostgreSQL images for compose, offline
#
# IMAGE_TAG          tag of the service images (default local, as compose.yaml names them)
# CONTAINER_ENGINE   docker or podman (default: docker if its engine answers, else podman)
# DEBIAN_MIRROR      where debootstrap fetches the base from (default: the mirror apt uses)
# IMAGE_BUILD_JOBS   images built at once (default 2)
#
# The Dockerfiles start FROM an official Python image. Where that image cannot be pulled (no
# registry reachable, as on the offline machines), podman gets one made from Debian's own
# packages with debootstrap (same Debian release, same Python minor version) under the same
# name, once: it stays in podman's storage, so a warm build starts from it at once.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
IMAGE_TAG=${IMAGE_TAG:-local}
IMAGE_BUILD_JOBS=${IMAGE_BUILD_JOBS:-2}
# Settings podman needs where it runs inside a container itself (no systemd, rlimits refused);
# harmless elsewhere. podman-compose and the tests use the same file.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/scripts/podman/containers.conf}

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

engine() {
    if [[ -n ${CONTAINER_ENGINE:-} ]]; then
        echo "$CONTAINER_ENGINE"
    elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null; then
        echo podman
    else
        # Neither: Debian's podman and debootstrap (scripts/install_system_deps.sh installs them).
        bash "$ROOT/scripts/install_system_deps.sh" >&2
        echo podman
    fi
}

services() {
    local dockerfile
    for dockerfile in services/*/Dockerfile; do
        basename "$(dirname "$dockerfile")"
    done
}

# The one base every Dockerfile starts FROM, fully qualified as docker and podman resolve it.
base_image() {
    local bases
    bases=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' services/*/Dockerfile | sort -u)
    [[ $(wc -l <<<"$bases") == 1 ]] || {
        echo "the Dockerfiles start from more than one base: $bases" >&2
        exit 1
    }
    [[ $bases == */* ]] || bases=docker.io/library/$bases
    echo "$bases"
}

debian_mirror() {
    if [[ -n ${DEBIAN_MIRROR:-} ]]; then
        echo "$DEBIAN_MIRROR"
        return
    fi
    local found
    found=$(grep -hoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
        awk '{print $2}' | head -n 1 || true)
    echo "${found:-http://deb.debian.org/debian}"
}

# python:3.11-slim-bookworm made from Debian bookworm's packages: minbase plus python3 (3.11 on
# bookworm), pip and venv, trimmed like the slim images (no docs, man pages, locales, apt lists).
make_base_from_debian() {
    local image=$1 tag suite python_version rootfs
    tag=${image##*:}
    python_version=${tag%%-*}
    suite=${tag##*-}
    rootfs=$(mktemp -d)
    echo "    no registry: making $image from Debian $suite packages ($(debian_mirror))" >&2
    command -v debootstrap >/dev/null || bash "$ROOT/scripts/install_system_deps.sh" >&2
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        "$suite" "$rootfs" "$(debian_mirror)" >"$rootfs.log" 2>&1 || {
        cat "$rootfs.log" >&2
        exit 1
    }
    rm -f "$rootfs.log"
    local found
    found=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [[ $found == "$python_version" ]] || {
        echo "Debian $suite has Python $found, not $python_version: cannot stand in for $image" >&2
        exit 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale \
        "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    # Where the official image has them.
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    tar -C "$rootfs" -c . | podman import --quiet \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --change "LABEL org.opencontainers.image.description=\"$image made from Debian $suite packages (scripts/images.sh)\"" \
        - "$image" >/dev/null
    rm -rf "$rootfs"
}

ensure_base() {
    local image
    image=$(base_image)
    if [[ $(engine) == docker ]]; then
        return # docker build pulls it
    fi
    if podman image exists "$image"; then
        return
    fi
    if timeout 60 podman pull --quiet "$image" >/dev/null 2>&1; then
        return
    fi
    make_base_from_debian "$image"
}

# build_one DOCKERFILE IMAGE: one image, from the repository root as the build context.
build_one() {
    local dockerfile=$1 image=$2 started=$SECONDS engine_name
    engine_name=$(engine)
    local arguments=(build --file "$dockerfile" --tag "$image")
    if [[ $engine_name == podman ]]; then
        # chroot isolation: RUN steps need no OCI runtime. docker format keeps HEALTHCHECK.
        # ensure_base has the base locally (pulled or made): never look for it in a registry.
        arguments+=(--isolation chroot --format docker --layers --pull=never)
        # pip inside the build trusts what the host trusts (a base made from Debian reads the
        # system bundle; the official image's pip brings its own and ignores this). The bundle
        # only: package scripts may write beside it (ssl-cert's snakeoil certificate).
        local bundle=/etc/ssl/certs/ca-certificates.crt
        [[ -f $bundle ]] && arguments+=(--volume "$bundle:$bundle:ro")
    fi
    local log
    log=$(mktemp)
    if ! "$engine_name" "${arguments[@]}" . >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "could not build $image" >&2
        return 1
    fi
    rm -f "$log"
    echo "    $image ($((SECONDS - started)) s)" >&2
}

build() {
    local started=$SECONDS wanted=("$@") service
    ((${#wanted[@]})) || mapfile -t wanted < <(services)
    echo "building ${wanted[*]} with $(engine)" >&2
    ensure_base
    # IMAGE_BUILD_JOBS at a time: a build waits on downloads and layer commits as much as on
    # the CPU (their pip steps take turns on the shared cache).
    local running=0 failed=0
    for service in "${wanted[@]}"; do
        if ((running >= IMAGE_BUILD_JOBS)); then
            wait -n || failed=1
            running=$((running - 1))
        fi
        build_one "services/$service/Dockerfile" "taskoverflow/$service:$IMAGE_TAG" &
        running=$((running + 1))
    done
    while ((running > 0)); do
        wait -n || failed=1
        running=$((running - 1))
    done
    ((failed == 0)) || exit 1
    echo "images built in $((SECONDS - started)) s" >&2
}

# What compose pulls from registries, made from PyPI (LocalStack at make run's pin) and from
# Debian (PostgreSQL 15); compose.yaml takes them through LOCALSTACK_IMAGE and POSTGRES_IMAGE.
build_emulators() {
    local localstack_version
    localstack_version=$(sed -n 's/^localstack-core\[runtime\]==\(.*\)$/\1/p' requirements-localstack.txt)
    ensure_base
    build_one infra/containers/localstack/Dockerfile "taskoverflow/localstack:$localstack_version"
    build_one infra/containers/postgres/Dockerfile taskoverflow/postgres:15-bookworm
}

case ${1:-} in
build)
    shift
    build "$@"
    ;;
build-emulators) build_emulators ;;
base) ensure_base ;;
engine) engine ;;
*) usage ;;
esac
