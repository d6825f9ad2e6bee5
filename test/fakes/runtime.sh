#!/bin/bash
# Fake systemctl / crictl / docker for the renew tests (installed on PATH under
# those three names; nothing else is faked). Each call is appended to
# $FAKE_LOG. A component with a command file $FAKE_STATE/<component>.cmd is a
# REAL process (etcd, openssl s_server): restarting it kills it and starts it
# again from the files now in the tree, so health checks meet the renewed certs.
#  - crictl/docker ps: the running container id "<component>-<generation>";
#    stop: kill + relaunch, new generation.
#  - static pods (the kubelet's view): while manifests/<component>.yaml is
#    absent under $FAKE_ROOT, ps shows nothing and the real process is killed;
#    when the manifest is back, a new generation starts.
#  - systemctl restart: kill + relaunch; is-active: "active" while it runs.
#  - FAKE_STUCK=<component>: never comes back. FAKE_INACTIVE=<unit>: is-active says failed.
#  - FAKE_NO_RELOAD=<component>: a restart that reports a new container but leaves the old
#    process running (it keeps serving the certificate it loaded: the served-cert proof's case).
me=$(basename "$0")
echo "$me $*" >> "$FAKE_LOG"
S="$FAKE_STATE"
gen() { cat "$S/$1.gen" 2>/dev/null || echo 1; }
# Running, and not a zombie (nobody may reap the processes these scripts leave behind).
running() { local stat; stat=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$stat" ] && [ "${stat#Z}" = "$stat" ]; }
alive() { [ -f "$S/$1.pid" ] && running "$(cat "$S/$1.pid")"; }
stop_real() {
  [ -f "$S/$1.pid" ] || return 0
  local pid
  pid=$(cat "$S/$1.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$S/$1.pid"
}
start_real() {
  [ -f "$S/$1.cmd" ] || return 0
  bash "$S/$1.cmd" >> "$S/$1.log" 2>&1 < /dev/null &
  echo $! > "$S/$1.pid"
}
down() { [ "$FAKE_NO_RELOAD" = "$1" ] || stop_real "$1"; touch "$S/$1.down"; }
up() {
  [ "$FAKE_STUCK" = "$1" ] && return 0
  rm -f "$S/$1.down"
  echo $(( $(gen "$1") + 1 )) > "$S/$1.gen"
  alive "$1" || start_real "$1"
}
restart() { echo "event restart $1" >> "$FAKE_LOG"; down "$1"; up "$1"; }
running_id() {
  local name=$1
  if [ ! -f "$FAKE_ROOT/etc/kubernetes/manifests/$name.yaml" ]; then
    if [ ! -f "$S/$name.down" ]; then echo "event restart $name" >> "$FAKE_LOG"; down "$name"; fi
    return 0
  fi
  [ -f "$S/$name.down" ] && up "$name"
  [ -f "$S/$name.down" ] || echo "$name-$(gen "$name")"
}
case "$me" in
  systemctl)
    case "$1" in
      restart) restart "$2" ;;
      cat)
        # Like systemd: "No files found" for a unit this host does not have (FAKE_NO_UNITS lists them).
        case " $FAKE_NO_UNITS " in *" $2 "*) echo "No files found for $2.service." >&2; exit 1 ;; esac
        echo "# /etc/systemd/system/$2.service (fake)" ;;
      is-active)
        if [ "$FAKE_INACTIVE" = "$2" ] || [ -f "$S/$2.down" ]; then echo failed; exit 3; fi
        if [ -f "$S/$2.cmd" ] && ! alive "$2"; then echo failed; exit 3; fi
        echo active ;;
      *) echo "fake systemctl: unsupported $*" >&2; exit 1 ;;
    esac ;;
  crictl|docker)
    case "$1" in
      ps)
        shift
        name=""
        while [ $# -gt 0 ]; do
          case "$1" in
            --name|--filter) name="$2"; shift 2 ;;
            *) shift ;;
          esac
        done
        name="${name#^}"; name="${name%\$}"; name="${name#name=k8s_}"; name="${name%_}"
        running_id "$name" ;;
      stop)
        shift
        for id in "$@"; do restart "${id%-*}"; done ;;
      *) echo "fake $me: unsupported $*" >&2; exit 1 ;;
    esac ;;
esac
exit 0
