#!/usr/bin/env bash
# Build the runner image statagent-runner:<content hash> unless the engine already has it.
#
# Needs no container registry: where the base is the local statagent-base:bookworm it is made
# from Debian's packages (debootstrap, the mirror of this machine's apt sources); the wheels are
# downloaded on the host into .build/wheels/; the build runs from a temporary context, so the
# checkout's .venv and data never reach the daemon. Safe to run concurrently and non-interactively.
#
# Environment: RUNNER_BASE  base image (default statagent-base:bookworm; python:3.11-slim where
#                           a registry is reachable)
#              PYTHON       the project's Python (default .venv/bin/python)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
LOCAL_BASE=statagent-base:bookworm
BASE=${RUNNER_BASE:-$LOCAL_BASE}
SUITE=bookworm
BUILD=$ROOT/.build
LOCK=runner-image/requirements.lock
WHEELS=$BUILD/wheels

log() { printf 'runner-image: %s\n' "$*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The content-hash tag (controller/image.py, as `python -m controller.image` prints it; called
# this way because the controller package imports that module itself).
image_tag() { "$PYTHON" -c 'from controller.image import main; main()' --base "$BASE" "$@"; }

# The first URI of this machine's apt sources that serves $SUITE (deb822 files, then sources.list).
apt_mirror() {
    local sources=(/etc/apt/sources.list.d/*.sources) mirror=""
    if [[ -e ${sources[0]} ]]; then
        mirror=$(awk -v suite="$SUITE" '
            BEGIN { RS = ""; FS = "\n" }
            {
                uris = ""; suites = ""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
                    if ($i ~ /^Suites:/) { suites = $i " " }
                }
                if (uris != "" && index(suites, " " suite " ")) { split(uris, u, /[ \t]+/); print u[1]; exit }
            }' "${sources[@]}")
    fi
    if [[ -z $mirror && -e /etc/apt/sources.list ]]; then
        mirror=$(awk -v suite="$SUITE" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' /etc/apt/sources.list)
    fi
    [[ -n $mirror ]] || { log "no apt source serves $SUITE; cannot make $LOCAL_BASE"; return 1; }
    printf '%s\n' "$mirror"
}

# Delete a directory, first unmounting whatever a failed debootstrap may have left mounted in it.
remove_tree() {
    local mount
    [[ -d $1 ]] || return 0
    awk -v root="$1/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r mount; do umount -l "$mount" || true; done
    rm -rf --one-file-system "$1"
}

# $LOCAL_BASE from Debian's packages, made in the scratch directory $1.
make_local_base() {
    local rootfs=$1 mirror
    if ! command -v debootstrap >/dev/null; then
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    mirror=$(apt_mirror)
    log "making $LOCAL_BASE with debootstrap from $mirror"
    debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$rootfs" "$mirror" \
        >"$BUILD/debootstrap.log" 2>&1 || { tail -n 30 "$BUILD/debootstrap.log" >&2; return 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$LOCAL_BASE" >/dev/null
    remove_tree "$rootfs"
}

# Wheels for the image's Python (cp311, manylinux x86_64), downloaded once per lock file.
download_wheels() {
    local stamp
    stamp="$WHEELS/.complete-$(sha256sum "$LOCK" | cut -c1-16)"
    [[ -e $stamp ]] && return 0
    log "downloading wheels into ${WHEELS#"$ROOT"/}"
    mkdir -p "$WHEELS"
    rm -f "$WHEELS"/.complete-*
    "$PYTHON" -m pip download --quiet --quiet --dest "$WHEELS" --only-binary=:all: \
        --python-version 3.11 --implementation cp \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
        -r "$LOCK"
    touch "$stamp"
}

mkdir -p "$BUILD"
exec 9>"$BUILD/runner-image.lock"
flock 9

TAG=$(image_tag)
if have_image "$TAG"; then
    log "$TAG is up to date"
    exit 0
fi

started=$SECONDS
# The build's own copy of its inputs; the tag is taken from that copy, so it matches what is
# built even when the checkout is edited meanwhile.
work=$(mktemp -d "$BUILD/work.XXXXXX")
trap 'remove_tree "$work"' EXIT
context=$work/context
mkdir -p "$context/runner-image"
cp Dockerfile.runner "$context/"
cp "$LOCK" "$context/runner-image/"
cp -r runner-image/runner "$context/runner-image/"
find "$context/runner-image/runner" \( -name __pycache__ -prune -o -name '*.pyc' \) -exec rm -rf {} +
TAG=$(image_tag --root "$context")

if [[ $BASE == "$LOCAL_BASE" ]] && ! have_image "$LOCAL_BASE"; then
    make_local_base "$work/rootfs"
fi
download_wheels
cp -al "$WHEELS" "$context/wheels"

log "building $TAG from $BASE (log: ${BUILD#"$ROOT"/}/docker-build.log)"
DOCKER_BUILDKIT=0 docker build --file "$context/Dockerfile.runner" \
    --build-arg BASE="$BASE" --build-arg RUNNER_HASH="${TAG##*:}" --tag "$TAG" "$context" \
    >"$BUILD/docker-build.log" 2>&1 || { tail -n 40 "$BUILD/docker-build.log" >&2; exit 1; }

log "built $TAG in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$TAG" | numfmt --to=si))"
