#!/usr/bin/env bash
# A long fuzzing campaign: every target (or the ones named) until RUNS executions or CAP seconds,
# JOBS targets at a time, at the lowest CPU priority so it can run beside other work. Builds
# without a sanitizer (the crates forbid unsafe code; ASan would only slow the search) but with
# debug assertions, into its own target dir so run.sh's ASan build stays as it is. Corpora are
# the same scratch corpora run.sh uses. Prints executions, crashes and seconds per target and
# appends the table to logs/campaign.txt.
#
#   bash fuzz/campaign.sh [RUNS] [CAP_SECONDS] [JOBS] [TARGET...]   (default 10000000 3600 1)
set -euo pipefail
cd "$(dirname "$0")"

runs="${1:-10000000}"
cap="${2:-3600}"
jobs="${3:-1}"
shift 3 || shift $#

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target-campaign"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

flags=(-O --sanitizer none)
nice -n 19 cargo fuzz build "${flags[@]}"
bin_dir="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
mkdir -p logs
table=logs/campaign.txt
echo "# $(date -u '+%F %T') runs $runs, cap $cap s, $jobs at a time" >>"$table"

# The one-shot POP3 response decoder rescans a growing multi-line body per call; long inputs
# only make each execution slower without reaching new code.
max_len_for() {
  case "$1" in
    pop3_decode_response|pop3_roundtrip_response) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

run_one() {
  local t="$1" proto="${1%%_*}" start rc execs crashes log
  mkdir -p "corpus/$t" "artifacts/$t"
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t"/ 2>/dev/null || true
  start=$(date +%s)
  log="logs/campaign-$t-$start.log"
  set +e
  nice -n 19 "$bin_dir/$t" "corpus/$t" \
    -runs="$runs" -max_total_time="$cap" -max_len="$(max_len_for "$t")" \
    -dict="dict/$proto.dict" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  crashes=$(find "artifacts/$t" -type f -newermt "@$start" 2>/dev/null | wc -l)
  printf '%-26s %12s execs %4s crashes %6s s exit %s\n' \
    "$t" "${execs:-?}" "$crashes" "$(( $(date +%s) - start ))" "$rc" | tee -a "$table"
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait
echo "campaign: ${runs} runs or ${cap} s per target; table in fuzz/$table"
