#!/bin/sh
# make check's integration test: the responder behind real nginx on a unix socket, driven by real
# HTTP clients (tests/integration/run.mjs --subset): 7 aborted streams then 1 live => exactly 1
# within 1 s; 10 explicit disconnects all "disconnected": true and 0 left; a SIGKILLed curl gone
# within one heartbeat; every bad-input case of API.md with its status and JSON envelope.
#
# Exit 77 (skipped) when nginx or Node.js (>= 18) is missing, unless SSE_FCGI_REQUIRE_ALL=1, when
# that is a failure. SSE_FCGI_BIN names the responder (make check sets it).
here=$(cd "$(dirname "$0")" && pwd)

missing=
node_ok=no
if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "${major:-0}" -ge 18 ] && node_ok=yes
fi
[ "$node_ok" = yes ] || missing="$missing node(>=18)"
nginx_bin=${NGINX:-nginx}
if ! command -v "$nginx_bin" >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  missing="$missing nginx"
fi
if [ -n "$missing" ]; then
  if [ "${SSE_FCGI_REQUIRE_ALL:-0}" = 1 ]; then
    echo "nginx.sh: FAIL: missing:$missing (SSE_FCGI_REQUIRE_ALL=1)"
    exit 1
  fi
  echo "nginx.sh: SKIP: missing:$missing"
  exit 77
fi

if [ -z "${SSE_FCGI_BIN:-}" ]; then
  for c in "$PWD/src/sse-fcgi" "$here/../../src/sse-fcgi"; do
    [ -x "$c" ] && { SSE_FCGI_BIN=$c; break; }
  done
  export SSE_FCGI_BIN
fi

exec node "$here/run.mjs" --deployments nginx-unix --subset --disconnects 10 --heartbeat 1
