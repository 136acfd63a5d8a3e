# Sourced by the other scripts: makes .venv (pinned requirements) when missing or stale,
# builds the Cython extensions in place, and exports the paths the package runs from.
# FXPIPE_REQUIREMENTS picks the set: "run" (requirements-run.txt: build and run, what the demo
# needs) or "full" (requirements.txt: the run set plus tests, linters, benchmarks; default).
# Each set leaves a stamp in .venv holding the requirement files it was installed from, so a
# changed pin refreshes the venv; a current full stamp also covers the run set.
set -euo pipefail
FXPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$FXPIPE_ROOT"
PY="${FXPIPE_PYTHON:-python3}"
REQ_SET="${FXPIPE_REQUIREMENTS:-full}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "fxpipe needs Python >= 3.11 (found: $("$PY" --version 2>&1)); set FXPIPE_PYTHON" >&2
    exit 2
fi

case "$REQ_SET" in
    run)  req_file=requirements-run.txt ;;
    full) req_file=requirements.txt ;;
    *) echo "FXPIPE_REQUIREMENTS must be run or full (got $REQ_SET)" >&2; exit 2 ;;
esac
stamp_text() { cat requirements-run.txt; [ "$1" = run ] || cat requirements.txt; }
stamp_current() { [ -f ".venv/.fxpipe-requirements-$1" ] && stamp_text "$1" | cmp -s - ".venv/.fxpipe-requirements-$1"; }

if [ ! -x .venv/bin/python ] || ! { stamp_current "$REQ_SET" || stamp_current full; }; then
    if [ "$REQ_SET" = full ]; then
        echo "== setting up .venv (full pinned set; the first time builds quickfix from source, a few minutes)"
    else
        echo "== setting up .venv (pinned run set)"
    fi
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip==24.3.1
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req_file"
    stamp_text "$REQ_SET" > ".venv/.fxpipe-requirements-$REQ_SET"
fi

echo "== building Cython extensions"
.venv/bin/python setup.py -q build_ext --inplace -j 2 >/tmp/fxpipe-build.$$.log 2>&1 || {
    cat /tmp/fxpipe-build.$$.log >&2; rm -f /tmp/fxpipe-build.$$.log; exit 1; }
rm -f /tmp/fxpipe-build.$$.log

export PYTHONPATH="$FXPIPE_ROOT/src:$FXPIPE_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$FXPIPE_ROOT/.venv/bin:$PATH"
