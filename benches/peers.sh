# Sourced by the load scripts (outbound.sh, inbound.sh): a scratch folder `$dir` removed at
# exit with the processes whose pids are added to `pids`, free loopback ports, and the
# release mailserver built once.
# shellcheck shell=bash
dir=$(mktemp -d "/tmp/${1:-bench}.XXXXXX")
chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cargo build --release -q -p examples --bin mailserver
target=${CARGO_TARGET_DIR:-target}
