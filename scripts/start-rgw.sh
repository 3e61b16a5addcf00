#!/usr/bin/env bash
# start-rgw.sh - a throw-away single-node Ceph RGW (S3) on 127.0.0.1 for Tessera's tests.
# 1 mon + 1 OSD (memstore = RAM, or bluestore on a sparse file) + 1 radosgw, no mgr,
# cephx off, all state under $RGW_BASE. Creates the test bucket with its CORS rule
# (scripts/rgw-bucket.js) and prints the S3_* environment on stdout.
#
# Idempotent: if the RGW this script started under $RGW_BASE is still up on $RGW_PORT it
# only re-prints the environment; stale state (a dead daemon) is stopped and started afresh.
# Concurrent callers are serialised with a lock file next to $RGW_BASE.
# Stop with stop-rgw.sh (same RGW_BASE).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${RGW_BASE:-/tmp/tessera-rgw}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-40789}
STORE=${RGW_OBJECTSTORE:-memstore}          # memstore | bluestore
STORE_BYTES=${RGW_STORE_BYTES:-8589934592}  # size the OSD reports (memstore: RAM is used only as data is
                                            # written; at 95% the cluster goes 'full' and blocks writes AND deletes)
ACCESS_KEY=${S3_ACCESS_KEY:-test-access-key}
SECRET_KEY=${S3_SECRET_KEY:-test-secret-key}
BUCKET=${S3_BUCKET:-tessera-test}
ENDPOINT=http://127.0.0.1:$RGW_PORT

env_lines() {
  cat <<EOF
S3_ENDPOINT=$ENDPOINT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=us-east-1
S3_FORCE_PATH_STYLE=true
S3_BUCKET=$BUCKET
EOF
}
ensure_bucket() {
  env_lines | sed 's/^/export /' > "$BASE/env.sh"
  (set -a; . "$BASE/env.sh"; NODE_NO_WARNINGS=1 node "$HERE/rgw-bucket.js") 9>&-
}
# a daemon started with this cluster's conf is alive under the pid in $BASE/run/$1.pid
ours_alive() {
  local pid st
  pid=$(cat "$BASE/run/$1.pid" 2>/dev/null) || return 1
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ] || return 1
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$BASE/ceph.conf"
}

# SSE-KMS (x-amz-server-side-encryption: aws:kms) with RGW's 'testing' KMS backend: the keys
# live in ceph.conf (never do this outside tests). Tessera's S3_SSE tests use the first id.
KMS_KEYS='tessera-test-key-1=Ku6dtjt/mYh4ClgGBpYnOEEMOH0U5AGgOcXDbT9iPtU= tessera-test-key-2=cL3w1xK8f0rnvT2WSzVQGn7yC1bUVkHgQ4Jb6O7Mg0Q='
crypt_conf() {
  echo "rgw_crypt_s3_kms_backend = testing"
  echo "rgw_crypt_s3_kms_encryption_keys = $KMS_KEYS"
}
# an RGW started by an older version of this script lacks the KMS settings: add them and
# restart radosgw alone (mon and OSD, and so the bucket's objects, stay)
upgrade_rgw_conf() {
  grep -q '^rgw_crypt_s3_kms_backend' "$BASE/ceph.conf" && return 0
  echo "adding the test KMS settings to $BASE/ceph.conf; restarting radosgw" >&2
  crypt_conf >> "$BASE/ceph.conf"
  local pid; pid=$(cat "$BASE/run/client.rgw.a.pid")
  kill "$pid"
  for _ in $(seq 1 100); do ours_alive client.rgw.a || break; sleep 0.1; done
  if ours_alive client.rgw.a; then kill -9 "$pid"; fi
  radosgw -c "$BASE/ceph.conf" -n client.rgw.a >>"$BASE/log/stdout.log" 2>>"$BASE/log/stderr.log" 9>&-
  for _ in $(seq 1 240); do curl -fsS -o /dev/null "$ENDPOINT/" 2>/dev/null && break; sleep 0.25; done
  curl -fsS -o /dev/null "$ENDPOINT/"
}

mkdir -p "$(dirname "$BASE")"
exec 9>"$BASE.lock"
flock -w 300 9 || { echo "timed out waiting for $BASE.lock" >&2; exit 1; }

# already running? (same base, same port, every daemon alive, the endpoint answers)
if [ -e "$BASE/run" ]; then
  if ours_alive client.rgw.a && ours_alive mon.a && ours_alive osd.0 \
     && grep -q "endpoint=127.0.0.1:$RGW_PORT " "$BASE/ceph.conf" \
     && curl -fsS -m 5 -o /dev/null "$ENDPOINT/" 2>/dev/null; then
    upgrade_rgw_conf
    ensure_bucket
    env_lines
    echo "# already running under $BASE"
    exit 0
  fi
  echo "stale RGW state in $BASE: stopping it" >&2
  RGW_LOCK_HELD=1 "$HERE/stop-rgw.sh" >&2 9>&-
fi
# leftovers of an earlier run (e.g. logs kept by RGW_KEEP=1)
if [ -f "$BASE/ceph.conf" ]; then rm -rf "$BASE"; fi

missing=()
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl; do command -v "$b" >/dev/null || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing radosgw ceph-mon ceph-osd (missing: ${missing[*]})" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd curl >&2
  else
    echo "missing ${missing[*]}: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd" >&2; exit 1
  fi
fi
for port in "$RGW_PORT" "$MON_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is already taken" >&2; exit 1; fi
done
mkdir -p "$BASE"/{mon,osd,rgw,run,log,crash}
t0=$(date +%s%N)
trap 'echo "start-rgw.sh failed; logs in $BASE/log" >&2; RGW_LOCK_HELD=1 RGW_KEEP=1 "$HERE/stop-rgw.sh" >&2 9>&-' ERR

FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$BASE/ceph.conf
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$MON_PORT]
public_network = 127.0.0.0/8
ms_bind_ipv6 = false
ms_bind_msgr1 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $BASE/run
crash_dir = $BASE/crash
admin_socket = $BASE/run/\$name.asok
pid_file = $BASE/run/\$name.pid
log_file = $BASE/log/\$name.log
keyring = /dev/null
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0
paxos_propose_interval = ${RGW_PAXOS_INTERVAL:-0.05}
[client.admin]
admin_socket =
[mon]
mon_data = $BASE/mon/\$id
[osd]
osd_data = $BASE/osd/\$id
osd_objectstore = $STORE
memstore_device_bytes = $STORE_BYTES
bluestore_block_path = $BASE/osd/\$id/block.file
bluestore_block_create = true
bluestore_block_size = $STORE_BYTES
bluestore_block_db_create = false
bluestore_block_wal_create = false
[client.rgw.a]
# radosgw's built-in defaults want cephx + a secure mon link; undo that
auth_client_required = none
ms_mon_client_mode = crc
rgw_init_timeout = 60
# free deleted/overwritten data after ~1 min instead of 2 h (memstore keeps it in RAM)
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
# SSE 'AES256' is refused (InvalidRequest) over plain http unless this is off;
# it is then accepted but NOT applied (no key configured)
rgw_crypt_require_ssl = false
$(crypt_conf)
rgw_data = $BASE/rgw
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
EOF
C=(-c "$CONF")
# daemons get neither the lock (fd 9) nor the caller's stdout (a test runner's pipe)

# mon
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$BASE/monmap" >/dev/null
ceph-mon "${C[@]}" -i a --mkfs --monmap "$BASE/monmap" --keyring /dev/null
ceph-mon "${C[@]}" -i a >>"$BASE/log/stdout.log" 2>>"$BASE/log/stderr.log" 9>&-
# osd
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph "${C[@]}" --connect-timeout 30 osd new "$OSD_UUID")
mkdir -p "$BASE/osd/$OSD_ID"
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$BASE/log/osd-mkfs.log" 2>&1
ceph-osd "${C[@]}" -i "$OSD_ID" >>"$BASE/log/stdout.log" 2>>"$BASE/log/stderr.log" 9>&-
for i in $(seq 1 120); do   # wait until the OSD is up
  ceph "${C[@]}" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.5
done
ceph "${C[@]}" osd stat | grep -q '1 up'
# create every pool RGW will want now, in one ceph session (else the first
# CreateBucket / PutObject / CreateMultipartUpload each stall ~2 s creating pools)
for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
         default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
  echo "osd pool create $p 8 8"; echo "osd pool application enable $p rgw"
done | ceph "${C[@]}" >/dev/null 2>>"$BASE/log/stderr.log"
# rgw (the user is written straight into RADOS, before radosgw runs)
radosgw-admin "${C[@]}" user create --uid=test --display-name=test \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$BASE/log/user-create.json"
radosgw "${C[@]}" -n client.rgw.a >>"$BASE/log/stdout.log" 2>>"$BASE/log/stderr.log" 9>&-
for i in $(seq 1 240); do
  curl -fsS -o /dev/null "$ENDPOINT/" 2>/dev/null && break; sleep 0.25
done
curl -fsS -o /dev/null "$ENDPOINT/"
ours_alive client.rgw.a   # and it is our radosgw that answered
ensure_bucket
env_lines
echo "# pids: $(cat "$BASE"/run/*.pid | tr '\n' ' ') up in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
