#!/usr/bin/env bash
# Runs the benchmarks and prints RESULTS.md on stdout: the machine, then a table of
# group / ours / theirs / ratio (medians from this one run), the allocation counts, and
# (with --load) the mailload runs against our server and Dovecot: the mixed workload, then
# the consistency stress (--stress) with 10 and 50 clients.
#
#   bash benches/report.sh [--load] [--render] > benches/RESULTS.md
#
# --render skips running criterion and reports what target/criterion already holds.
# BENCH_ARGS overrides criterion's options (default: short runs for a shared 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
load=false
render=false
for a in "$@"; do
  case $a in
    --load) load=true ;;
    --render) render=true ;;
    *) echo "usage: report.sh [--load] [--render]" >&2; exit 2 ;;
  esac
done
messages=${MAIL_STORE_BENCH_MESSAGES:-100000}
args=${BENCH_ARGS:---warm-up-time 1 --measurement-time 3}
target=${CARGO_TARGET_DIR:-target}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

$render || {
  # shellcheck disable=SC2086
  cargo bench -p benches --bench smtp --bench imap --bench pop3 --bench session -- $args
  # The Maildir store lives in mail-store's own benchmark (one copy of that code).
  # shellcheck disable=SC2086
  cargo bench -p sansmail-store --bench store -- $args maildir_
} >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
allocs=$(cargo test -q -p benches --release --test allocations -- --nocapture --test-threads 1 2>/dev/null | grep -o 'allocations:.*' || true)

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "# Benchmark results"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- CPU: $cpu, $(nproc) cores; $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "- rustc: $(rustc --version)"
echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other engineers' builds and fuzzers: expect noise of ±20%)"
echo "- criterion: \`$args\`; the value is the median of the samples"
echo "- what each group compares, and why the missed targets are missed: [README.md](README.md)"
echo "- regenerate: \`bash benches/report.sh --load > benches/RESULTS.md\`"
echo
python3 - "$target/criterion" "$messages" <<'PY'
import json, os, sys
root = sys.argv[1]
messages = int(sys.argv[2])
def median(group, fid):
    p = os.path.join(root, group, fid, "new", "estimates.json")
    try:
        with open(p) as f:
            return json.load(f)["median"]["point_estimate"]
    except OSError:
        return None
def fmt(ns):
    if ns is None:
        return "—"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"
def bench_bytes(group, fid):
    p = os.path.join(root, group, fid, "new", "benchmark.json")
    try:
        with open(p) as f:
            t = json.load(f).get("throughput") or {}
            return t.get("Bytes")
    except OSError:
        return None
def thrpt(group, fid, ns):
    b = bench_bytes(group, fid)
    if not b or not ns:
        return ""
    mib = b / (ns / 1e9) / (1 << 20)
    return f" ({mib / 1024:.2f} GiB/s)" if mib >= 1024 else f" ({mib:.0f} MiB/s)"
rows = [
    ("smtp_commands", "ours", "smtp-proto", "≥ 2×"),
    ("smtp_data", "ours", "smtp-proto", "≥ 2×"),
    ("smtp_data", "ours_borrowed", "smtp-proto", "≥ 2×"),
    ("smtp_replies", "ours", "smtp-proto", "≥ 2×"),
    ("imap_commands", "ours", "imap-codec", "≥ 4×"),
    ("imap_responses", "ours", "imap-codec", "≥ 4×"),
    ("pop3_commands", "ours", "pop3-codec", "≥ 3×"),
    ("pop3_responses", "ours", None, ""),
]
print("## Parsers: ours against the alternative")
print()
print("Ratio = their median time / our median time (above 1: we are faster).")
print()
print("| group | ours | theirs | ratio | target | met |")
print("|---|---:|---:|---:|---|---|")
for group, ours, other, goal in rows:
    o = median(group, ours)
    t = median(group, other) if other else None
    ratio = t / o if (o and t) else None
    met = ""
    if goal and ratio:
        met = "yes" if ratio >= float(goal.strip("≥ ×")) else "**no**"
    name = f"{group}{'' if ours == 'ours' else '/' + ours} (vs {other})" if other else group
    print(f"| {name} | {fmt(o)}{thrpt(group, ours, o)} | {fmt(t)}{thrpt(group, other, t) if other else ''} | "
          f"{f'{ratio:.2f}×' if ratio else '—'} | {goal} | {met} |")
print()
print("## Sessions (client and server state machines in memory)")
print()
print("| id | median |")
print("|---|---:|")
for fid in ("smtp_transaction", "imap_fetch_1000", "pop3_retr_10mb"):
    m = median("session", fid)
    print(f"| session/{fid} | {fmt(m)}{thrpt('session', fid, m)} |")
print()
count = f"{messages:,}".replace(",", " ")
print(f"## Store (Maildir, {count} messages; in `mail-store/benches/store.rs`)")
print()
print("| id | criterion id | median |")
print("|---|---|---:|")
g = f"maildir_{messages}"
for sid, fid in (("store/append", "append_one_fsync"), ("store/append_100", "append_batch_of_100_fsync"),
                 ("store/flag_update", "store_flags_one_fsync"), ("store/status", "status"),
                 ("store/fetch_flags_all", "fetch_flags_all"), ("store/open", "open_and_list_uids_flags")):
    print(f"| {sid} | {g}/{fid} | {fmt(median(g, fid))} |")
PY
echo
echo "## Heap allocations while parsing commands"
echo
echo '```'
echo "$allocs"
echo '```'
if command -v valgrind >/dev/null 2>&1; then
  # Instructions per iteration under callgrind: stable on a busy machine, unlike timings
  # (though instructions are not time: a stalled copy is one instruction).
  cargo build -q --release -p benches --example profile
  ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/profile "$1" "$2" 2>&1 |
      sed -n 's/.*Collected : //p'
  }
  echo
  echo "## Instructions per iteration (callgrind)"
  echo
  echo "| group | ours | theirs | ratio |"
  echo "|---|---:|---:|---:|"
  for pair in smtp_commands/ours:smtp-proto smtp_data/ours:smtp-proto smtp_data/ours_borrowed:smtp-proto \
    smtp_replies/ours:smtp-proto imap_commands/ours:imap-codec imap_responses/ours:imap-codec pop3_commands/ours:pop3-codec; do
    case=${pair%%:*}
    g=${case%%/*}
    other=${pair#*:}
    o=$(( ($(ir "$case" 5) - $(ir "$case" 0)) / 5 ))
    t=$(( ($(ir "$g/$other" 5) - $(ir "$g/$other" 0)) / 5 ))
    echo "| $case (vs $other) | $o | $t | $(python3 -c "print(f'{$t / $o:.2f}×')") |"
  done
fi
if $load; then
  echo
  echo "## mailload: our mailserver and Dovecot, same machine, same run"
  echo
  bash benches/load.sh 2>/dev/null
  echo
  echo "## mailload --stress: 10 and 50 clients on shared mailboxes, 60 s, ours then Dovecot"
  echo
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for clients in 10 50; do
    echo
    bash benches/load.sh --stress "$clients" 60 2>/dev/null || true
  done
fi
echo
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
