#!/usr/bin/env bash
# Throughput of the outbound queue (#17): Postfix's smtp-source submits MESSAGES messages for a
# remote domain over SESSIONS parallel sessions into our port 25 (loopback may relay), and the
# release mailserver queues each (fsynced before 250) and delivers it through its smarthost, a
# Postfix smtp-sink. Prints messages per second from the first submission until smtp-sink has
# the last one, and for the submission alone.
#
#   bash benches/outbound.sh [MESSAGES] [SESSIONS]
#
# Needs smtp-sink and smtp-source (apt-get install postfix).
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-2000}
sessions=${2:-10}

. benches/peers.sh outbound
sink_port=$(free_port)
smtp_port=$(free_port)

# smtp-sink counts what it took (-c, one count per delivery on its standard output); as root
# it must give up privileges after binding.
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(-u nobody)
smtp-sink "${as_user[@]}" -c "127.0.0.1:$sink_port" 256 >"$dir/sink.out" 2>&1 &
pids+=($!)

cat >"$dir/mail.toml" <<EOF
data-dir = "$dir/data"
domain = "example.org"
hostname = "mx.example.org"
smtp = "127.0.0.1:$smtp_port"
submission = "none"
smtps = "none"
imap = "none"
imaps = "none"
pop3 = "none"
pop3s = "none"
relay-networks = ["127.0.0.0/8"]
smarthost = "127.0.0.1:$sink_port"
log = "warn"
EOF
start_mailserver

# smtp-sink -c rewrites one line (`sess=N quit=N mesg=N`) with carriage returns.
delivered() {
  local n
  n=$(tr '\r' '\n' <"$dir/sink.out" | grep -Eo 'mesg=[0-9]+' | tail -1 | cut -d= -f2)
  echo "${n:-0}"
}

start=$(date +%s.%N)
smtp-source -m "$messages" -s "$sessions" -l 2048 -f bench@example.org \
  -t someone@elsewhere.example "127.0.0.1:$smtp_port"
submitted=$(date +%s.%N)
until [ "$(delivered)" -ge "$messages" ]; do
  sleep 0.05
  if [ "$(echo "$(date +%s.%N) - $start > 600" | bc)" -eq 1 ]; then
    echo "only $(delivered) of $messages delivered after 600 s" >&2
    exit 1
  fi
done
done_at=$(date +%s.%N)

awk -v m="$messages" -v s="$sessions" -v a="$start" -v b="$submitted" -v c="$done_at" 'BEGIN {
  printf "| messages | sessions | submitted (s) | all delivered (s) | msg/s submitted | msg/s end to end |\n"
  printf "|---:|---:|---:|---:|---:|---:|\n"
  printf "| %d | %d | %.2f | %.2f | %.0f | %.0f |\n", m, s, b - a, c - a, m / (b - a), m / (c - a)
}'
