#!/usr/bin/env bash
# services.sh - makes sure what the tests talk to is running on this machine:
# MariaDB (127.0.0.1:3306, root, no password, database `test`), Redis (127.0.0.1:6379) and a
# single-node Ceph RGW (S3) on 127.0.0.1:7480. Installs missing Debian packages when root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || { echo "services.sh: need root to install ${missing[*]}" >&2; return 1; }
  echo "services.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

wait_port() {
  for _ in $(seq 1 120); do up "$1" && return 0; sleep 0.5; done
  echo "services.sh: nothing answers on port $1 ($2)" >&2; return 1
}

if ! up 3306; then
  command -v mariadbd >/dev/null || apt_install mariadb-server
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null 2>&1 || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_port 3306 MariaDB
fi
mariadb -uroot -h127.0.0.1 -e 'CREATE DATABASE IF NOT EXISTS test' 2>/dev/null \
  || mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test; ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" 

if ! up 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 Redis
fi

"$here/start-rgw.sh" >/dev/null

# the web app's end-to-end tests (test/web) drive Debian's Chromium through playwright-core
[ -x /usr/bin/chromium ] || apt_install chromium
