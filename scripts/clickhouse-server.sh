#!/usr/bin/env bash
# Local ClickHouse 18.16 test servers for chwire (Debian's clickhouse-server package).
#
#   scripts/clickhouse-server.sh start   [A|B|C|T ...]  start (idempotent; default: all), write the env file
#   scripts/clickhouse-server.sh stop    [A|B|C|T ...]  stop by pid file (default: all)
#   scripts/clickhouse-server.sh restart [A|B|C|T ...]
#   scripts/clickhouse-server.sh status               exit 0 when every instance is up, 3 otherwise
#   scripts/clickhouse-server.sh reset                stop all and delete .tmp/clickhouse (data, certs)
#
# Instances (all on 127.0.0.1, folders under .tmp/clickhouse/<name>/):
#   A  tcp 19000  http 18123  tls 19440  https 18443  verificationMode relaxed (client cert optional,
#                                                     verified against the test CA when presented)
#   B  tcp 19001  http 18124                          (second node: failover, Distributed tables)
#   C  tcp 19002  http 18125  tls 19441  https 18444  verificationMode strict (mTLS: a client cert
#                                                     signed by the test CA is required)
#   T  tcp 19003  http 18126                          server timezone Asia/Tokyo (the others: UTC)
# TLS files (CA, server and client certificates, dhparams) are made with openssl in .tmp/clickhouse/tls/.
# The env file .tmp/clickhouse/env (KEY=VALUE, shell-quoted) lists ports and paths for the tests.
#
# Environment: CHWIRE_CH_DIR (default <repo>/.tmp/clickhouse), CHWIRE_CH_START_TIMEOUT (seconds, 60),
# CHWIRE_CH_INSTANCES (instances started by default, "A B C T").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${CHWIRE_CH_DIR:-$ROOT/.tmp/clickhouse}
FIXTURES=$ROOT/test/fixtures/clickhouse
TLSDIR=$BASE/tls
ENVFILE=$BASE/env
HOST=127.0.0.1
START_TIMEOUT=${CHWIRE_CH_START_TIMEOUT:-60}
DEFAULT_INSTANCES=${CHWIRE_CH_INSTANCES:-A B C T}
SECURED_USER=secured
SECURED_PASSWORD='s3cr3t pass'

log() { echo "[clickhouse-server.sh] $*" >&2; }
die() { log "error: $*"; exit 1; }

# Per-instance ports: TCP HTTP TLS HTTPS VERIFY (TLS/HTTPS/VERIFY empty = no TLS), and the server's ZONE.
ZONE_T=Asia/Tokyo
ports() {
  ZONE=UTC
  case "$1" in
    A) TCP=19000; HTTP=18123; TLS=19440; HTTPS=18443; VERIFY=relaxed ;;
    B) TCP=19001; HTTP=18124; TLS=; HTTPS=; VERIFY= ;;
    C) TCP=19002; HTTP=18125; TLS=19441; HTTPS=18444; VERIFY=strict ;;
    T) TCP=19003; HTTP=18126; TLS=; HTTPS=; VERIFY=; ZONE=$ZONE_T ;;
    *) die "unknown instance '$1' (expected A, B, C or T)" ;;
  esac
}

find_bin() {
  local name=$1 p
  for p in "$(command -v "$name" 2>/dev/null || true)" "/usr/sbin/$name" "/usr/bin/$name"; do
    if [[ -n "$p" && -x "$p" ]]; then echo "$p"; return 0; fi
  done
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Pid of a running instance (from its pid file), or nothing.
instance_pid() {
  local pidfile=$BASE/$1/server.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q clickhouse || return 1
  echo "$pid"
}

log_tail() {
  local dir=$BASE/$1 f
  for f in "$dir/log/server.err.log" "$dir/log/stdout.log"; do
    if [[ -s $f ]]; then echo "----- tail of $f -----" >&2; tail -n 30 "$f" >&2; fi
  done
}

render() { # template output, then KEY=VALUE pairs
  local template=$1 out=$2; shift 2
  local text kv
  text=$(<"$template")
  for kv in "$@"; do text=${text//@${kv%%=*}@/${kv#*=}}; done
  printf '%s\n' "$text" >"$out.tmp"
  mv "$out.tmp" "$out"
}

make_tls() {
  if [[ -s $TLSDIR/ca.crt && -s $TLSDIR/server.crt && -s $TLSDIR/server.key && -s $TLSDIR/client.crt \
        && -s $TLSDIR/client.key && -s $TLSDIR/dhparam.pem && -s $TLSDIR/rogue-client.crt ]]; then
    return 0
  fi
  command -v openssl >/dev/null || die "openssl is not installed"
  log "making TLS files in $TLSDIR"
  rm -rf "$TLSDIR.new"
  mkdir -p "$TLSDIR.new"
  (
    cd "$TLSDIR.new"
    q() { "$@" >/dev/null 2>openssl.log || { cat openssl.log >&2; exit 1; }; }
    # CA
    q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=chwire test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    # Server certificate: CN and SAN localhost + 127.0.0.1
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >server.ext
    q openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=localhost"
    q openssl x509 -req -sha256 -days 3650 -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile server.ext -out server.crt
    # Client certificate signed by the CA
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    q openssl req -newkey rsa:2048 -nodes -sha256 -keyout client.key -out client.csr -subj "/CN=chwire-client"
    q openssl x509 -req -sha256 -days 3650 -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile client.ext -out client.crt
    # A self-signed client certificate the CA did not sign (for rejection tests)
    q openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout rogue-client.key \
      -out rogue-client.crt -subj "/CN=chwire-rogue-client" -addext "extendedKeyUsage=clientAuth"
    # DH parameters: the RFC 7919 ffdhe2048 group is instant; fall back to DSA-style generation.
    openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dhparam.pem 2>/dev/null \
      || q openssl dhparam -dsaparam -out dhparam.pem 2048
    rm -f ./*.csr ./*.ext ca.srl openssl.log
    chmod 600 ./*.key
  )
  rm -rf "$TLSDIR"
  mv "$TLSDIR.new" "$TLSDIR"
}

prepare_instance() {
  local name=$1 dir=$BASE/$1
  ports "$name"
  mkdir -p "$dir"/{data,tmp,log,user_files,format_schemas,config.d}
  render "$FIXTURES/config.xml.template" "$dir/config.xml" "TCP=$TCP" "HTTP=$HTTP" "DIR=$dir" "TZ=$ZONE"
  cp "$FIXTURES/users.xml" "$dir/users.xml"
  render "$FIXTURES/remote_servers.xml.template" "$dir/config.d/remote_servers.xml" "TCP_A=19000" "TCP_B=19001"
  if [[ -n $TLS ]]; then
    render "$FIXTURES/tls.xml.template" "$dir/config.d/tls.xml" \
      "TLS_PORT=$TLS" "HTTPS_PORT=$HTTPS" "TLSDIR=$TLSDIR" "VERIFY=$VERIFY"
  else
    rm -f "$dir/config.d/tls.xml"
  fi
  # Runs as the invoking user (root works with 18.16). If a foreign owner left these folders
  # behind, make them ours again.
  if [[ $(stat -c %u "$dir/data") != "$(id -u)" ]]; then chown -R "$(id -u):$(id -g)" "$dir"; fi
}

start_instance() {
  local name=$1 dir=$BASE/$1 pid server p
  ports "$name"
  if pid=$(instance_pid "$name"); then
    log "$name already running (pid $pid)"
  else
    for p in $TCP $HTTP $TLS $HTTPS; do
      port_open "$p" && die "port $p (instance $name) is already taken by another process"
    done
    server=$(find_bin clickhouse-server) || die "clickhouse-server is not installed (apt-get install clickhouse-server clickhouse-client)"
    prepare_instance "$name"
    : >"$dir/log/stdout.log"
    : >"$dir/log/server.err.log" # so that a failure's log tail is about this start
    rm -f "$dir/server.pid"
    # setsid: the server must outlive the shell (or test process) that started it; 9>&- keeps
    # the lock file descriptor out of it.
    setsid bash -c 'echo $$ >"$1"; exec "$2" --config-file="$3"' _ \
      "$dir/server.pid" "$server" "$dir/config.xml" </dev/null >>"$dir/log/stdout.log" 2>&1 9>&- &
    log "$name starting (tcp $TCP, http $HTTP${TLS:+, tls $TLS, https $HTTPS ($VERIFY)})"
  fi
}

# Readiness: HTTP /ping answers "Ok.", then clickhouse-client gets an answer on the TCP port (a
# real handshake: bare connects leave warnings or TLS errors in the server's log). The server
# binds every listener (TLS ones too) before it starts serving any of them.
http_ping() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/$HOST/$1" && printf 'GET /ping HTTP/1.0\r\n\r\n' >&3 && timeout 5 cat <&3) 2>/dev/null) || return 1
  [[ $reply == *Ok.* ]]
}

wait_instance() {
  local name=$1 deadline pid client out=
  ports "$name"
  client=$(find_bin clickhouse-client) || die "clickhouse-client is not installed"
  deadline=$((SECONDS + START_TIMEOUT))
  until http_ping "$HTTP" && out=$("$client" --host "$HOST" --port "$TCP" -q 'SELECT 1' 2>&1); do
    if [[ -f $BASE/$name/server.pid ]] && ! instance_pid "$name" >/dev/null; then
      sleep 0.3
      if ! instance_pid "$name" >/dev/null; then
        log_tail "$name"; die "ClickHouse instance $name exited during startup"
      fi
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$name"
      die "ClickHouse instance $name: tcp port $TCP not answering after ${START_TIMEOUT}s ${out:+($out)}"
    fi
    sleep 0.2
  done
  pid=$(instance_pid "$name") || { log_tail "$name"; die "ClickHouse instance $name is not running"; }
  log "$name up (pid $pid)"
}

stop_instance() {
  local name=$1 pid i
  if ! pid=$(instance_pid "$name"); then
    rm -f "$BASE/$name/server.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 15s, killing"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$BASE/$name/server.pid"
  log "$name stopped (pid $pid)"
}

shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

write_env() {
  local version client
  client=$(find_bin clickhouse-client) || die "clickhouse-client is not installed"
  version=$("$client" --host "$HOST" --port 19000 -q 'SELECT version()' 2>&1) \
    || die "SELECT version() on instance A failed: $version"
  {
    echo "# Written by scripts/clickhouse-server.sh; read by test/helpers/server.ts"
    echo "CHWIRE_TEST_HOST=$HOST"
    echo "CHWIRE_TEST_TCP_PORT=19000"
    echo "CHWIRE_TEST_TCP_PORT_B=19001"
    echo "CHWIRE_TEST_TCP_PORT_C=19002"
    echo "CHWIRE_TEST_HTTP_PORT=18123"
    echo "CHWIRE_TEST_HTTP_PORT_B=18124"
    echo "CHWIRE_TEST_HTTP_PORT_C=18125"
    echo "CHWIRE_TEST_TCP_PORT_T=19003"
    echo "CHWIRE_TEST_HTTP_PORT_T=18126"
    echo "CHWIRE_TEST_ZONE_T=$ZONE_T"
    echo "CHWIRE_TEST_TLS_PORT=19440"
    echo "CHWIRE_TEST_HTTPS_PORT=18443"
    echo "CHWIRE_TEST_TLS_PORT_STRICT=19441"
    echo "CHWIRE_TEST_HTTPS_PORT_STRICT=18444"
    echo "CHWIRE_TEST_TLS_SERVERNAME=localhost"
    echo "CHWIRE_TEST_TLS_CA=$(shq "$TLSDIR/ca.crt")"
    echo "CHWIRE_TEST_TLS_CLIENT_CERT=$(shq "$TLSDIR/client.crt")"
    echo "CHWIRE_TEST_TLS_CLIENT_KEY=$(shq "$TLSDIR/client.key")"
    echo "CHWIRE_TEST_TLS_ROGUE_CERT=$(shq "$TLSDIR/rogue-client.crt")"
    echo "CHWIRE_TEST_TLS_ROGUE_KEY=$(shq "$TLSDIR/rogue-client.key")"
    echo "CHWIRE_TEST_SECURED_USER=$SECURED_USER"
    echo "CHWIRE_TEST_SECURED_PASSWORD=$(shq "$SECURED_PASSWORD")"
    echo "CHWIRE_TEST_CLUSTER_SHARDS=chwire_two_shards"
    echo "CHWIRE_TEST_CLUSTER_REPLICAS=chwire_two_replicas"
    echo "CHWIRE_TEST_VERSION=$(shq "$version")"
    echo "CHWIRE_TEST_DIR=$(shq "$BASE")"
  } >"$ENVFILE.tmp"
  mv "$ENVFILE.tmp" "$ENVFILE"
}

lock() {
  mkdir -p "$BASE"
  exec 9>"$BASE/.lock"
  flock -w 180 9 || die "could not lock $BASE/.lock"
}

cmd=${1:-}
shift || true
instances=("$@")
if ((${#instances[@]} == 0)); then read -r -a instances <<<"$DEFAULT_INSTANCES"; fi
for n in "${instances[@]}"; do ports "$n"; done

case "$cmd" in
  start)
    lock
    make_tls
    for n in "${instances[@]}"; do start_instance "$n"; done
    for n in "${instances[@]}"; do wait_instance "$n"; done
    write_env
    log "env file: $ENVFILE"
    ;;
  stop)
    lock
    for n in "${instances[@]}"; do stop_instance "$n"; done
    ;;
  restart)
    lock
    for n in "${instances[@]}"; do stop_instance "$n"; done
    make_tls
    for n in "${instances[@]}"; do start_instance "$n"; done
    for n in "${instances[@]}"; do wait_instance "$n"; done
    write_env
    ;;
  status)
    rc=0
    for n in "${instances[@]}"; do
      ports "$n"
      if pid=$(instance_pid "$n") && http_ping "$HTTP"; then
        echo "$n running pid=$pid tcp=$TCP http=$HTTP${TLS:+ tls=$TLS https=$HTTPS verify=$VERIFY}"
      else
        echo "$n stopped"; rc=3
      fi
    done
    exit $rc
    ;;
  reset)
    lock
    for n in A B C T; do stop_instance "$n"; done
    rm -rf "${BASE:?}"/{A,B,C,T,tls,env}
    log "removed data, certificates and env file under $BASE"
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|reset [A|B|C|T ...]" >&2
    exit 2
    ;;
esac
