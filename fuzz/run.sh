#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, seeded from fuzz/seeds/<target>
# (copied into the scratch corpus fuzz/corpus/<target>, which keeps what a run finds), with
# the protocol's dictionary. Stops with a non-zero exit at the first crash, leak, timeout or
# out-of-memory; prints executions and crashes per target.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]        (default: 30 seconds, every target)
#
# cargo-fuzz needs nightly features: on the stable toolchain it runs with RUSTC_BOOTSTRAP=1.
# Targets are built once before any of them runs, with `-O`: fuzz/Cargo.toml's release profile,
# which has debug assertions and overflow checks (cargo-fuzz's own `--debug-assertions` would
# force them on for mail-parser too, through RUSTFLAGS).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
shift || true

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

build_flags=(-O)
echo "fuzz: building every target"
build_start=$(date +%s)
cargo fuzz build "${build_flags[@]}"
echo "fuzz: built in $(( $(date +%s) - build_start )) s"

mkdir -p logs
summary=()
total_start=$(date +%s)
for t in "${targets[@]}"; do
  proto="${t%%_*}"
  corpus="corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  if [ -d "seeds/$t" ]; then
    cp -n seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  fi
  log="logs/$t.log"
  start=$(date +%s)
  set +e
  cargo fuzz run "${build_flags[@]}" "$t" "$corpus" -- \
    -max_total_time="$seconds" \
    -dict="dict/$proto.dict" \
    -rss_limit_mb=2048 \
    -timeout=10 \
    -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=$(find "artifacts/$t" -type f -newermt "@$start" 2>/dev/null | wc -l)
  line=$(printf '%-26s %12s execs %4s crashes %5s s' "$t" "${execs:-?}" "$crashes" "$(( $(date +%s) - start ))")
  echo "fuzz: $line"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); the end of $log:"
    tail -n 60 "$log"
    echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} $t <artifact>"
    exit 1
  fi
done

echo "fuzz: summary (${seconds} s per target, $(( $(date +%s) - total_start )) s in all)"
printf 'fuzz:   %s\n' "${summary[@]}"
