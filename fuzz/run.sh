#!/usr/bin/env bash
# ./fuzz/run.sh [SECONDS] [--asan]: seeds a corpus and fuzzes the FIX parser for SECONDS (60).
# --asan builds the codec extensions with AddressSanitizer (gcc) into a private copy of the
# package and preloads libasan, so a read outside the buffer aborts with a report.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
asan="${2:-}"
source scripts/_env.sh
work="$(mktemp -d /tmp/fxpipe-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python fuzz/fix_parser.py --seed "$work/corpus"
if [ "$asan" = "--asan" ]; then
    echo "== building the codec with AddressSanitizer into $work/pkg"
    cp -r src "$work/pkg"
    CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" LDFLAGS="-fsanitize=address" \
        python setup.py -q build_ext --force --build-lib "$work/pkg" --build-temp "$work/build" -j 2 \
        >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    export PYTHONPATH="$work/pkg:$FXPIPE_ROOT"
    export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
    # Each bytes object its own malloc block with red zones: pymalloc arenas would hide over-reads.
    export PYTHONMALLOC=malloc
    scan_so="$(python -c 'import fxpipe.fix.scan as m; print(m.__file__)')"
    case "$scan_so" in "$work"/*) ;; *) echo "ASan build not picked up: $scan_so" >&2; exit 1 ;; esac
    grep -q __asan_report "$scan_so" || { echo "$scan_so has no ASan instrumentation" >&2; exit 1; }
    echo "== ASan-instrumented codec: $scan_so"
fi
echo "== fuzzing for ${seconds}s"
python fuzz/fix_parser.py -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" "$work/corpus" 2>&1 | tail -20
# A finding leaves crash-* / timeout-* files; keep them where a person can look.
if ls "$work"/crash-* "$work"/timeout-* >/dev/null 2>&1; then
    mkdir -p fuzz/findings && cp "$work"/crash-* "$work"/timeout-* fuzz/findings/ 2>/dev/null || true
    echo "findings copied to fuzz/findings/" >&2
    exit 1
fi
