#!/usr/bin/env bash
# Start or stop the test machine's Docker daemon (no systemd here: the suite runs dockerd itself).
#   tests/bed/dockerd.sh start    # start it unless it answers; wait until it does
#   tests/bed/dockerd.sh stop     # SIGTERM, as a host shutdown does; wait until it has exited
# `stop` then `start` is what a reboot does to the lab's containers: they stop with the daemon, and
# the daemon starts kind's nodes again when it comes back (their restart policy). tests/e2e/run.sh
# uses it for its restart phase.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[dockerd] %s\n' "$*"; }

host_lacks_sys_resource() {
  local bnd
  bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  (( (16#$bnd & (1 << 24)) == 0 ))
}

wait_until() {  # wait_until SECONDS COMMAND...: poll the condition every 0.2 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

answers() { docker info >/dev/null 2>&1; }
gone() { ! pgrep -x dockerd >/dev/null; }

case ${1:-} in
  start)
    answers && exit 0
    mkdir -p /etc/docker
    if host_lacks_sys_resource; then
      log "capability bounding set lacks CAP_SYS_RESOURCE: docker runs containers through runc-drop-caps"
      install -m 0755 "$here/runc-drop-caps" /usr/local/sbin/runc-drop-caps
      cat >/etc/docker/daemon.json <<JSON
{"runtimes": {"runc-drop-caps": {"path": "/usr/local/sbin/runc-drop-caps"}},
 "default-runtime": "runc-drop-caps"}
JSON
    fi
    log "starting dockerd"
    nohup dockerd >>/var/log/okl-dockerd.log 2>&1 &
    wait_until 60 answers || { tail -n 30 /var/log/okl-dockerd.log; exit 1; }
    ;;
  stop)
    gone && exit 0
    log "stopping dockerd"
    pkill -TERM -x dockerd
    wait_until 120 gone || { echo "dockerd did not exit within 120 s"; exit 1; }
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
