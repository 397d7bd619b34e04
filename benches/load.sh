#!/usr/bin/env bash
# Runs mailload against our mailserver (IMAP and SMTP) and against Debian's Dovecot (IMAP) on
# loopback, one after the other in the same run, and prints the Markdown tables.
#
#   bash benches/load.sh [IMAP_SESSIONS] [ROUNDS] [SMTP_SESSIONS] [MESSAGES]
#   bash benches/load.sh --stress [CLIENTS] [SECONDS]
#   bash benches/load.sh --postgres [IMAP_SESSIONS] [ROUNDS] [SMTP_SESSIONS] [MESSAGES]
#
# --stress runs the consistency mode instead (mailload --stress): CLIENTS clients (default
# 10) of one user on two shared mailboxes for SECONDS (default 60), against each server; it
# prints the latency table and the violations each server's clients found. RATE=R paces each
# client to R steps a second (mailload --rate) instead of back to back, so that the two
# servers' latencies compare at the same load (one both keep up with).
#
# MAILSERVER=path runs that mailserver binary (an earlier build, for a before/after
# comparison); TMPDIR chooses the disk both servers keep their mail on.
#
# --postgres compares our server with itself instead of Dovecot (issue #18): one node on a
# Maildir, then two nodes on one PostgreSQL database (a fresh one on the cluster
# SANSMAIL_TEST_POSTGRES names; `. .ci/postgres.sh` starts one), the same load spread over
# both nodes' addresses.
#
# Both servers keep mail in fresh Maildirs under a temporary folder and fsync what they
# acknowledge (Dovecot's default fsync_mode, our store's default). Dovecot must be installed
# (apt-get install dovecot-imapd); it runs unprivileged-ish as in INTEROP.md. DOVECOT_FSYNC
# sets its mail_fsync (optimized, its default, fsyncs new mail but not flag changes nor
# expunges; always fsyncs every change, as our store does).
set -euo pipefail
cd "$(dirname "$0")/.."
stress=false
postgres=false
if [ "${1:-}" = "--postgres" ]; then
  postgres=true
  shift
  : "${SANSMAIL_TEST_POSTGRES:?--postgres needs a cluster: . .ci/postgres.sh}"
fi
if [ "${1:-}" = "--stress" ]; then
  stress=true
  shift
  clients=${1:-10}
  seconds=${2:-60}
  sessions=1
else
  sessions=${1:-8}
  rounds=${2:-25}
  smtp_sessions=${3:-4}
  messages=${4:-400}
fi
users=()
for i in $(seq 1 "$sessions"); do users+=("load$i"); done

# Where cargo puts the binaries (CARGO_TARGET_DIR when set).
bin="${CARGO_TARGET_DIR:-target}/release"
cargo build --release -q -p examples --bin mailserver
cargo build --release -q -p benches --bin mailload

dir=$(mktemp -d "${TMPDIR:-/tmp}/mailload.XXXXXX")
chmod 755 "$dir"
# Our own copies: a target folder shared by several checkouts may get another one's build.
# MAILSERVER=path runs that binary instead (an earlier build, for a before/after comparison).
cp "${MAILSERVER:-$bin/mailserver}" "$dir"/mailserver
cp "$bin"/mailload "$dir"/
bin=$dir
pids=()
database=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$database" ] && psql "$SANSMAIL_TEST_POSTGRES" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  [ -f "$dir/dovecot.conf" ] && dovecot -c "$dir/dovecot.conf" stop 2>/dev/null || true
  sleep 0.5
  rm -rf "$dir"
}
trap cleanup EXIT

. benches/ports.sh

user_flags=()
for u in "${users[@]}"; do user_flags+=(--user "$u:secret"); done

# Our server.
ours_imap=$(free_port)
ours_smtp=$(free_port)
"$bin"/mailserver --imap "127.0.0.1:$ours_imap" --smtp "127.0.0.1:$ours_smtp" \
  --pop3 none --submission none --smtps none --imaps none --pop3s none --data-dir "$dir/ours" --domain example.com "${user_flags[@]}" \
  --max-connections-per-ip 1000 \
  >"$dir/ours.log" 2>&1 &
pids+=($!)
wait_port "$ours_imap"

if $postgres; then
  database="mailload_$$"
  psql "$SANSMAIL_TEST_POSTGRES" -qc "CREATE DATABASE $database"
  url="${SANSMAIL_TEST_POSTGRES%/*}/$database"
  pg_imap=()
  pg_smtp=()
  for node in a b; do
    imap=$(free_port)
    smtp=$(free_port)
    "$bin"/mailserver --imap "127.0.0.1:$imap" --smtp "127.0.0.1:$smtp" \
      --pop3 none --submission none --smtps none --imaps none --pop3s none --data-dir "$dir/pg-$node" --store "$url" --domain example.com \
      "${user_flags[@]}" --max-connections-per-ip 1000 >"$dir/pg-$node.log" 2>&1 &
    pids+=($!)
    wait_port "$imap"
    pg_imap+=(--imap "127.0.0.1:$imap")
    pg_smtp+=(--smtp "127.0.0.1:$smtp")
  done
  common=(--imap-sessions "$sessions" --rounds "$rounds" --seed-messages 50 "${user_flags[@]}" --max-seconds 300)
  smtp=(--smtp-sessions "$smtp_sessions" --messages "$messages" --to load1@example.com --to load2@example.com)
  echo "IMAP: $sessions sessions (one user each), $rounds rounds each after 50 seeded messages;"
  echo "SMTP: $smtp_sessions sessions delivering $messages messages of 8 KB to 2 local recipients."
  echo "maildir: one node on a Maildir; postgres-2: two nodes on one PostgreSQL database, sessions alternating."
  echo
  "$bin"/mailload --label maildir "${common[@]}" --imap "127.0.0.1:$ours_imap" \
    --smtp "127.0.0.1:$ours_smtp" "${smtp[@]}"
  "$bin"/mailload --label postgres-2 "${common[@]}" "${pg_imap[@]}" "${pg_smtp[@]}" \
    "${smtp[@]}" | tail -n +3
  exit 0
fi

# Dovecot.
dove_imap=$(free_port)
mkdir -p "$dir/dovecot" "$dir/dmail"
chown dovecot:dovecot "$dir/dmail" 2>/dev/null || chmod 777 "$dir/dmail"
: >"$dir/dovecot/passwd"
for u in "${users[@]}"; do echo "$u:{PLAIN}secret" >>"$dir/dovecot/passwd"; done
cat >"$dir/dovecot.conf" <<CONF
instance_name = mailload-$$
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:$dir/dmail/%u/Maildir
mail_fsync = ${DOVECOT_FSYNC:-optimized}
# One user's clients all come from 127.0.0.1 (Dovecot's default allows 10).
protocol imap {
  mail_max_userip_connections = 1000
}
namespace inbox {
  inbox = yes
  separator = .
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/dovecot/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/dmail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $dove_imap
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
dovecot -c "$dir/dovecot.conf" -F >/dev/null 2>&1 &
pids+=($!)
wait_port "$dove_imap"

if $stress; then
  echo "IMAP stress: $clients clients of one user on two shared mailboxes for $seconds s, against each server."
  echo
  status=0
  pace=()
  [ -n "${RATE:-}" ] && pace=(--rate "$RATE") && echo "Each client paced to $RATE steps a second." && echo
  "$bin"/mailload --stress --label ours --clients "$clients" --seconds "$seconds" "${pace[@]}" \
    "${user_flags[@]}" --imap "127.0.0.1:$ours_imap" || status=1
  echo
  "$bin"/mailload --stress --label dovecot --clients "$clients" --seconds "$seconds" "${pace[@]}" \
    "${user_flags[@]}" --imap "127.0.0.1:$dove_imap" || true
  exit $status
fi

common=(--imap-sessions "$sessions" --rounds "$rounds" --seed-messages 50 "${user_flags[@]}" --max-seconds 300)
echo "IMAP: $sessions sessions (one user each), $rounds rounds each after 50 seeded messages;"
echo "SMTP: $smtp_sessions sessions delivering $messages messages of 8 KB to 2 local recipients."
echo
"$bin"/mailload --label ours "${common[@]}" --imap "127.0.0.1:$ours_imap" \
  --smtp "127.0.0.1:$ours_smtp" --smtp-sessions "$smtp_sessions" --messages "$messages" \
  --to load1@example.com --to load2@example.com
"$bin"/mailload --label dovecot "${common[@]}" --imap "127.0.0.1:$dove_imap" | tail -n +3
