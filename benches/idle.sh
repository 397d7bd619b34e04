#!/usr/bin/env bash
# Memory per idle IMAP connection (#19): SESSIONS clients log in to the release mailserver on
# loopback, SELECT INBOX and start IDLE; the server's resident memory (VmRSS) is read before
# and after they connect, and the difference is divided among them. No TLS.
#
#   bash benches/idle.sh [SESSIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-1000}
. benches/peers.sh idle
imap_port=$(free_port)
ulimit -n $((sessions * 2 + 256))

cat >"$dir/mail.toml" <<EOF
data-dir = "$dir/data"
user = ["alice:secret"]
imap = "127.0.0.1:$imap_port"
smtp = "none"
submission = "none"
smtps = "none"
imaps = "none"
pop3 = "none"
pop3s = "none"
log = "warn"
max-connections = $((sessions + 100))
max-connections-per-ip = $((sessions + 100))
EOF
start_mailserver

python3 - "$server" "$imap_port" "$sessions" <<'PY'
import socket, sys, time
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

def until(s, marker):
    got = b""
    while marker not in got:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"the server closed a connection: {got!r}")
        got += chunk

def idle_session():
    s = socket.create_connection(("127.0.0.1", port))
    until(s, b"\r\n")
    s.sendall(b"a LOGIN alice secret\r\n"); until(s, b"a OK")
    s.sendall(b"b SELECT INBOX\r\n"); until(s, b"b OK")
    s.sendall(b"c IDLE\r\n"); until(s, b"+ ")
    return s

# A few first, so that what every process allocates once is counted before.
warm = [idle_session() for _ in range(20)]
time.sleep(0.5)
before = rss_kib()
held = [idle_session() for _ in range(n)]
time.sleep(1.0)
after = rss_kib()
print(f"| sessions | RSS before (KiB) | RSS after (KiB) | per idle session (KiB) |")
print(f"|---:|---:|---:|---:|")
print(f"| {n} | {before} | {after} | {(after - before) / n:.1f} |")
PY
