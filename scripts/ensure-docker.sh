#!/usr/bin/env bash
# Make sure a Docker engine answers. One that already runs is used as it is, its configuration
# untouched; otherwise Debian's docker.io is installed (when dockerd is missing) and dockerd is
# started in the background, detached from the caller so it outlives `make`, and waited for.
# An engine started here gets gVisor (Debian's runsc) registered as the runtime `runsc`, which
# the controller's `container.runtime: auto` then uses for every job container.
set -euo pipefail

LOG=/var/log/dockerd.log
WAIT_SECONDS=60
# runsc refuses to start here without --network=none in its own arguments (job containers have
# no network anyway); dockerd's --add-runtime takes no arguments, hence this one-line wrapper.
RUNSC_WRAPPER=/usr/local/libexec/statagent/runsc-no-network

log() { printf 'docker: %s\n' "$*" >&2; }

docker info >/dev/null 2>&1 && exit 0

missing=()
command -v dockerd >/dev/null && command -v docker >/dev/null || missing+=(docker.io)
[[ -x /usr/bin/runsc ]] || missing+=(runsc)
if ((${#missing[@]})); then
    log "installing Debian's ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A package's own start script may already have started it; never start a second one.
if ! pgrep -x dockerd >/dev/null; then
    mkdir -p "$(dirname "$RUNSC_WRAPPER")"
    printf '#!/bin/sh\nexec /usr/bin/runsc --network=none "$@"\n' >"$RUNSC_WRAPPER"
    chmod 755 "$RUNSC_WRAPPER"
    # A pid file left by an engine that was killed would stop dockerd from starting.
    rm -f /var/run/docker.pid
    log "starting dockerd with gVisor as runtime runsc (log: $LOG)"
    setsid nohup dockerd --add-runtime "runsc=$RUNSC_WRAPPER" </dev/null >>"$LOG" 2>&1 &
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
    docker info >/dev/null 2>&1 && { log "engine is up"; exit 0; }
    sleep 1
done
log "the engine did not answer within $WAIT_SECONDS s; last lines of $LOG:"
tail -n 20 "$LOG" >&2
exit 1
