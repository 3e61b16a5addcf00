#!/usr/bin/env bash
# stop-rgw.sh - stops only the daemons start-rgw.sh started (by their pid files) and
# deletes their state (RGW_KEEP=1 keeps $RGW_BASE, i.e. the logs). Waits for a
# start-rgw.sh in progress (same lock file) unless RGW_LOCK_HELD=1 (start calling stop).
set -uo pipefail
BASE=${RGW_BASE:-/tmp/tessera-rgw}
if [ "${RGW_LOCK_HELD:-0}" != 1 ] && [ -d "$(dirname "$BASE")" ]; then
  exec 9>"$BASE.lock"; flock -w 300 9
fi
[ -d "$BASE/run" ] || { echo "nothing to stop in $BASE"; exit 0; }
alive() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
for name in client.rgw.a osd.0 mon.a; do    # one by one, mon last
  [ -f "$BASE/run/$name.pid" ] || continue
  pid=$(cat "$BASE/run/$name.pid")
  # only signal it if it is still a daemon started with this cluster's conf
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$BASE/ceph.conf" || continue
  kill "$pid" && echo "stopped $name ($pid)"
  for i in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done   # a zombie counts as gone
  alive "$pid" && kill -9 "$pid"
done
if [ "${RGW_KEEP:-0}" = 1 ]; then rm -rf "$BASE/run"; else rm -rf "$BASE"; fi
