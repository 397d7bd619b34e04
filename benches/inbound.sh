#!/usr/bin/env bash
# SMTP delivery into one local mailbox (#19): Postfix's smtp-source sends MESSAGES messages of
# SIZE octets over SESSIONS parallel sessions into our port 25, for one local user; the
# release mailserver writes each into the user's Maildir, fsynced, before its 250. Then the
# same smtp-source run against Postfix's smtp-sink (which keeps nothing), the ceiling of what
# the client and loopback allow. Prints both rates and their ratio. Where Dovecot is installed
# (apt-get install dovecot-lmtpd), the same run over LMTP into Dovecot's Maildir on the same
# disk too: what a Maildir delivery costs there.
#
#   bash benches/inbound.sh [--postgres] [MESSAGES] [SESSIONS] [SIZE]
#
# --postgres keeps the messages in PostgreSQL instead (the cluster SANSMAIL_TEST_POSTGRES
# names, at its default fsync and synchronous_commit; `. .ci/postgres.sh` starts one on
# TMPDIR's disk): each message committed before its 250, no file created for it.
#
# Needs smtp-sink and smtp-source (apt-get install postfix). TMPDIR chooses the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=false
if [ "${1:-}" = "--postgres" ]; then
  postgres=true
  shift
  : "${SANSMAIL_TEST_POSTGRES:?--postgres needs a cluster: . .ci/postgres.sh}"
fi
messages=${1:-5000}
sessions=${2:-20}
size=${3:-5120}

. benches/peers.sh inbound
smtp_port=$(free_port)
sink_port=$(free_port)

cat >"$dir/mail.toml" <<EOF
data-dir = "$dir/data"
domain = "example.org"
hostname = "mx.example.org"
user = ["alice:secret"]
smtp = "127.0.0.1:$smtp_port"
submission = "none"
smtps = "none"
imap = "none"
imaps = "none"
pop3 = "none"
pop3s = "none"
log = "warn"
EOF
if $postgres; then
  database="inbound_$$"
  psql "$SANSMAIL_TEST_POSTGRES" -qc "CREATE DATABASE $database"
  echo "store = \"${SANSMAIL_TEST_POSTGRES%/*}/$database\"" >>"$dir/mail.toml"
fi
start_mailserver

as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(-u nobody)
smtp-sink "${as_user[@]}" "127.0.0.1:$sink_port" 256 >"$dir/sink.out" 2>&1 &
pids+=($!)
sleep 0.3

# Seconds smtp-source takes for the whole run against 127.0.0.1:$1 (more options before it).
run() {
  local a b
  a=$(date +%s.%N)
  smtp-source -m "$messages" -s "$sessions" -l "$size" -f bench@example.org \
    -t alice@example.org "$@"
  b=$(date +%s.%N)
  echo "$b - $a" | bc
}
# Fails unless the Maildir under $1 (or the database, for ours with --postgres) holds
# every message.
check_stored() {
  local stored
  if $postgres && [ "$1" = "$dir/data/alice/Maildir" ]; then
    stored=$(psql "${SANSMAIL_TEST_POSTGRES%/*}/$database" -tAc "SELECT count(*) FROM messages")
  else
    stored=$(find "$1/new" "$1/cur" -type f | wc -l)
  fi
  if [ "$stored" -ne "$messages" ]; then
    echo "$1 holds $stored messages, not $messages" >&2
    tail -5 "$dir/dovecot/dovecot.log" 2>/dev/null >&2 || true
    exit 1
  fi
}
ours=$(run "127.0.0.1:$smtp_port")
sink=$(run "127.0.0.1:$sink_port")
check_stored "$dir/data/alice/Maildir"

dove=""
if command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/lmtp ]; then
  lmtp_port=$(free_port)
  mkdir -p "$dir/dovecot" "$dir/dmail"
  chown dovecot:dovecot "$dir/dmail" 2>/dev/null || chmod 777 "$dir/dmail"
  cat >"$dir/dovecot.conf" <<CONF
instance_name = inbound-$$
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
first_valid_uid = 100
mail_location = maildir:$dir/dmail/%n/Maildir
mail_fsync = always
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$dir/dmail/%n allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
  process_min_avail = $sessions
}
CONF
  dovecot -c "$dir/dovecot.conf" -F >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$lmtp_port"
  dove=$(run -L "127.0.0.1:$lmtp_port")
  check_stored "$dir/dmail/alice/Maildir"
fi

awk -v m="$messages" -v s="$sessions" -v z="$size" -v o="$ours" -v k="$sink" -v d="$dove" 'BEGIN {
  printf "| messages | sessions | size | mailserver (s) | msg/s | smtp-sink (s) | msg/s | ratio | Dovecot LMTP (s) | msg/s |\n"
  printf "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  dv = d == "" ? "— | —" : sprintf("%.2f | %.0f", d, m / d)
  printf "| %d | %d | %d | %.2f | %.0f | %.2f | %.0f | %.2f× | %s |\n", m, s, z, o, m / o, k, m / k, k / o, dv
}'
