#!/bin/sh
# signals.sh -- the daemon's signals, run by make check: SIGHUP re-reads
# --config (log level and displays) without touching a stream; SIGTERM
# drains and exits 0 within 2 s; the socket file is gone afterwards.  A start
# refused for a bad displays file, or an unknown socket group or user, or a
# bad socket mode, leaves no socket file either; a good group and mode are the
# socket's.
# Talks FastCGI with cgi-fcgi (Debian: libfcgi-bin).  Exits 77 (skip) when
# that is missing, unless SSE_FCGI_REQUIRE_ALL=1.
set -u
bin=${SSE_FCGI_BIN:-src/sse-fcgi}
if ! command -v cgi-fcgi >/dev/null 2>&1; then
  echo "signals: cgi-fcgi not installed (Debian package libfcgi-bin)"
  [ "${SSE_FCGI_REQUIRE_ALL:-0}" = 1 ] && exit 1
  exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/sse-fcgi-signals.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
passed=0 failed=0
check() { # NAME CONDITION...
  name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
# GET <path>: the response head and body of one short request
get() {
  env -i REQUEST_METHOD=GET DOCUMENT_URI="/api/v1/events$1" REQUEST_URI="/api/v1/events$1" \
    REMOTE_USER=admin timeout 3 cgi-fcgi -bind -connect "$dir/s.sock"
}
has() { printf '%s' "$1" | grep -q -- "$2"; }

# A start that fails on a bad displays file leaves no socket file behind, and says which line.
printf 'lobby\nbad name\n' > "$dir/bad-displays"
"$bin" --socket "$dir/s.sock" --displays "$dir/bad-displays" 2> "$dir/start.log"
code=$?
check "a bad displays file: exit 2 (got $code)" test "$code" = 2
check "... with one line naming the file's line" grep -q "bad-displays:2: " "$dir/start.log"
check "... and no socket file left behind" test ! -e "$dir/s.sock"

# The same for the socket's owner, group and mode: refused before it is bound.
refused() { # OPTION VALUE MESSAGE
  "$bin" --socket "$dir/s.sock" "$1" "$2" 2> "$dir/start.log"
  code=$?
  check "$1 $2: exit 2 (got $code)" test "$code" = 2
  check "... saying \"$3\"" grep -q -- "$3" "$dir/start.log"
  check "... and no socket file left behind" test ! -e "$dir/s.sock"
}
refused --socket-group no-such-group-sse "--socket-group: no group 'no-such-group-sse'"
refused --socket-owner no-such-user-sse "--socket-owner: no user 'no-such-user-sse'"
refused --socket-mode 0999 "--socket-mode: '0999' is not an octal mode"
# A group this process is in, and a mode: the socket's, whatever the umask.
group=$(id -gn)
(umask 0; exec "$bin" --socket "$dir/s.sock" --socket-group "$group" --socket-mode 0640 2> "$dir/start.log") &
pid=$!
for _ in $(seq 50); do [ -S "$dir/s.sock" ] && break; sleep 0.1; done
check "--socket-group $group --socket-mode 0640: the socket is srw-r----- of group $group" \
  test "$(stat -c '%A %G' "$dir/s.sock")" = "srw-r----- $group"
kill "$pid"; wait "$pid"; pid=

printf 'log-level = warn\ndisplays = %s/displays\nheartbeat = 0.2\n' "$dir" > "$dir/config"
printf 'lobby\n' > "$dir/displays"
"$bin" --socket "$dir/s.sock" --config "$dir/config" 2> "$dir/log" &
pid=$!
for _ in $(seq 50); do [ -S "$dir/s.sock" ] && break; sleep 0.1; done

out=$(get /display/kitchen)
check "kitchen unknown before reload (404)" has "$out" "Status: 404"
# a stream held open across the reload
env -i REQUEST_METHOD=GET DOCUMENT_URI=/api/v1/events/display/lobby \
  timeout 30 cgi-fcgi -bind -connect "$dir/s.sock" > "$dir/stream" 2>/dev/null &
stream=$!
sleep 0.5
printf 'log-level = debug\ndisplays = %s/displays\nheartbeat = 0.2\n' "$dir" > "$dir/config"
printf 'lobby\nkitchen\n' > "$dir/displays"
kill -HUP "$pid"
sleep 0.3
# timeout signals cgi-fcgi itself (through env's exec): a shell in between could die and leave
# it holding the pipe, and this line waiting for ever
out=$(timeout -k 1 1 env -i REQUEST_METHOD=GET DOCUMENT_URI=/api/v1/events/display/kitchen \
  cgi-fcgi -bind -connect "$dir/s.sock" 2>/dev/null)
check "kitchen known after SIGHUP (a stream)" has "$out" "event: connected"
check "log level debug after SIGHUP" grep -q " debug stream " "$dir/log"
out=$(get /stats)
check "the stream opened before SIGHUP is still live" has "$out" '"total_connections":1'
pings_before=$(grep -c "event: ping" "$dir/stream")
sleep 0.5
check "it still gets heartbeats" test "$(grep -c "event: ping" "$dir/stream")" -gt "$pings_before"
printf 'log-level = loud\n' > "$dir/config"
kill -HUP "$pid"
sleep 0.2
check "a bad config on SIGHUP is refused, the daemon lives" kill -0 "$pid"
check "... and says so" grep -q "reload: .*nothing changed" "$dir/log"
start=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
code=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
pid=
check "SIGTERM: exit 0 (got $code)" test "$code" = 0
check "SIGTERM: within 2 s (${ms} ms)" test "$ms" -lt 2000
wait "$stream" 2>/dev/null
check "the stream got event: shutdown" grep -q "event: shutdown" "$dir/stream"
check "the socket file is gone" test ! -e "$dir/s.sock"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
