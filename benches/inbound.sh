#!/usr/bin/env bash
# SMTP delivery into one local mailbox (#19): Postfix's smtp-source sends MESSAGES messages of
# SIZE octets over SESSIONS parallel sessions into our port 25, for one local user; the
# release mailserver writes each into the user's Maildir, fsynced, before its 250. Then the
# same smtp-source run against Postfix's smtp-sink (which keeps nothing), the ceiling of what
# the client and loopback allow. Prints both rates and their ratio.
#
#   bash benches/inbound.sh [MESSAGES] [SESSIONS] [SIZE]
#
# Needs smtp-sink and smtp-source (apt-get install postfix).
set -euo pipefail
cd "$(dirname "$0")/.."
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
start_mailserver

as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(-u nobody)
smtp-sink "${as_user[@]}" "127.0.0.1:$sink_port" 256 >"$dir/sink.out" 2>&1 &
pids+=($!)
sleep 0.3

# Seconds smtp-source takes for the whole run against 127.0.0.1:$1.
run() {
  local a b
  a=$(date +%s.%N)
  smtp-source -m "$messages" -s "$sessions" -l "$size" -f bench@example.org \
    -t alice@example.org "127.0.0.1:$1"
  b=$(date +%s.%N)
  echo "$b - $a" | bc
}
ours=$(run "$smtp_port")
sink=$(run "$sink_port")
stored=$(find "$dir/data/alice/Maildir/new" "$dir/data/alice/Maildir/cur" -type f | wc -l)
if [ "$stored" -ne "$messages" ]; then
  echo "the Maildir holds $stored messages, not $messages" >&2
  exit 1
fi

awk -v m="$messages" -v s="$sessions" -v z="$size" -v o="$ours" -v k="$sink" 'BEGIN {
  printf "| messages | sessions | size | mailserver (s) | msg/s | smtp-sink (s) | msg/s | ratio |\n"
  printf "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  printf "| %d | %d | %d | %.2f | %.0f | %.2f | %.0f | %.2f× |\n", m, s, z, o, m / o, k, m / k, k / o
}'
