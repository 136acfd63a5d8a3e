#!/usr/bin/env bash
# The pinned-layout measurements for a many-core host, in one go, into OUTDIR:
#   tune check       what tuning/ would change on this host (read-only)
#   ring (full)      round trip / throughput, two pinned cores, before host tuning
#   demo pinned      feed -> audit -> decision -> oms, one core per stage, busy-spin
#   ring (quick) x2  p99.9 with the live tuning settings applied (as root, --with-tuning),
#                    then reverted: the before/after that tuning/README.md quotes
# Usage: bench/pinned_host.sh OUTDIR [--with-tuning]   (run from the repository root, with
# the extensions built and PYTHONPATH=src; scripts/bench-style set-up is the caller's job)
set -uo pipefail
out="${1:?usage: bench/pinned_host.sh OUTDIR [--with-tuning]}"
with_tuning="${2:-}"
mkdir -p "$out"
py="${PYTHON:-python3}"
cores=$("$py" -c 'import os; c = sorted(os.sched_getaffinity(0)); print(len(c))')
if [ "$cores" -lt 6 ]; then
    echo "pinned layout needs >= 6 cores (this host: $cores); use the compact figures instead" >&2
    exit 2
fi
# Keep core 0 (and 1) for the kernel and housekeeping; the trading cores are 2..5.
ring_cores="2,3"
trading="2-5"
export PYTHONUNBUFFERED=1
{ nproc; lscpu 2>/dev/null | grep -E "Model name|Thread|NUMA|MHz" ; cat /proc/cmdline; } > "$out/host.txt" 2>&1
"$py" -m fxpipe tune check --cores "$trading" > "$out/tune_check.txt" 2>&1
"$py" bench/ring.py --cores "$ring_cores" --json "$out/ring_pinned.json" --plot "$out/ring_pinned.png" \
    > "$out/ring_pinned.txt" 2>&1
echo "ring: rc=$?"
"$py" -m fxpipe demo --layout pinned > "$out/demo_pinned.txt" 2>&1
echo "demo: rc=$?"
if [ "$with_tuning" = "--with-tuning" ]; then
    "$py" bench/ring.py --quick --cores "$ring_cores" --json "$out/ring_before_tuning.json" \
        --plot "$out/ring_before_tuning.png" > "$out/ring_before_tuning.txt" 2>&1
    "$py" -m fxpipe tune apply --cores "$trading" --yes > "$out/tune_apply.txt" 2>&1
    echo "tune apply: rc=$?"
    "$py" bench/ring.py --quick --cores "$ring_cores" --json "$out/ring_after_tuning.json" \
        --plot "$out/ring_after_tuning.png" > "$out/ring_after_tuning.txt" 2>&1
    "$py" -m fxpipe tune revert --yes > "$out/tune_revert.txt" 2>&1
    echo "tune revert: rc=$?"
fi
