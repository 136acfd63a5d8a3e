# Sourced by the other scripts: makes .venv (pinned requirements) when missing or stale,
# builds the Cython extensions in place, and exports the paths the package runs from.
set -euo pipefail
FXPIPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$FXPIPE_ROOT"
PY="${FXPIPE_PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "fxpipe needs Python >= 3.11 (found: $("$PY" --version 2>&1)); set FXPIPE_PYTHON" >&2
    exit 2
fi

if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/.fxpipe-requirements; then
    echo "== setting up .venv (pinned requirements; the first time builds quickfix from source, a few minutes)"
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip==24.3.1
    .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
    cp requirements.txt .venv/.fxpipe-requirements
fi

echo "== building Cython extensions"
.venv/bin/python setup.py -q build_ext --inplace -j 2 >/tmp/fxpipe-build.$$.log 2>&1 || {
    cat /tmp/fxpipe-build.$$.log >&2; rm -f /tmp/fxpipe-build.$$.log; exit 1; }
rm -f /tmp/fxpipe-build.$$.log

export PYTHONPATH="$FXPIPE_ROOT/src:$FXPIPE_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$FXPIPE_ROOT/.venv/bin:$PATH"
