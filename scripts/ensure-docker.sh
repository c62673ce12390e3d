#!/usr/bin/env bash
# Make sure a Docker engine answers. One that already runs is used as it is; otherwise
# Debian's docker.io is installed (when dockerd is missing) and dockerd is started in the
# background, detached from the caller so it outlives `make`, and waited for.
set -euo pipefail

LOG=/var/log/dockerd.log
WAIT_SECONDS=60

log() { printf 'docker: %s\n' "$*" >&2; }

docker info >/dev/null 2>&1 && exit 0

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

# A package's own start script may already have started it; never start a second one.
if ! pgrep -x dockerd >/dev/null; then
    # A pid file left by an engine that was killed would stop dockerd from starting.
    rm -f /var/run/docker.pid
    log "starting dockerd (log: $LOG)"
    setsid nohup dockerd </dev/null >>"$LOG" 2>&1 &
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
    docker info >/dev/null 2>&1 && { log "engine is up"; exit 0; }
    sleep 1
done
log "the engine did not answer within $WAIT_SECONDS s; last lines of $LOG:"
tail -n 20 "$LOG" >&2
exit 1
