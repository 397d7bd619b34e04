# Sourced by the load scripts (outbound.sh, inbound.sh, idle.sh): a scratch folder `$dir`
# removed at exit with the processes whose pids are added to `pids`, free loopback ports and
# waiting for one to listen, and the release mailserver built once and started on
# `$dir/mail.toml`.
# shellcheck shell=bash
dir=$(mktemp -d "${TMPDIR:-/tmp}/${1:-bench}.XXXXXX")
chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

. benches/ports.sh

# MAILSERVER=path runs that binary instead (an earlier build, for a before/after comparison).
if [ -z "${MAILSERVER:-}" ]; then
  cargo build --release -q -p examples --bin mailserver
  MAILSERVER=${CARGO_TARGET_DIR:-target}/release/mailserver
fi

# Starts the release mailserver on "$dir/mail.toml" and waits until it has said where it
# listens (its last line at start is the metrics endpoint's); its pid is `$server`.
start_mailserver() {
  "$MAILSERVER" --config "$dir/mail.toml" >"$dir/server.out" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do
    grep -q "^metrics " "$dir/server.out" 2>/dev/null && return
    sleep 0.1
  done
}
