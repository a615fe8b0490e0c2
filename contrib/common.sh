# shellcheck shell=bash
# Shared by contrib/run-local and contrib/test-all (sourced, bash).

# The Debian packages that build, test and run sse-fcgi.
# shellcheck disable=SC2034 # used by the scripts that source this file
SSE_FCGI_PACKAGES=(build-essential autoconf automake libtool pkg-config libfcgi-dev libjson-c-dev
  libhiredis-dev check lighttpd spawn-fcgi nginx-light apache2-utils curl libfcgi-bin)

# ... and those HTTPS with HTTP/2 needs (TLS=1 contrib/run-local, the http2-browser suite):
# openssl for the certificate, mod_openssl for lighttpd (nginx has TLS and HTTP/2 built in).
# shellcheck disable=SC2034
SSE_FCGI_TLS_PACKAGES=(openssl lighttpd-mod-openssl)

sse_say() { printf '%s\n' "$*" >&2; }

# Install whichever of the named Debian packages are missing: apt-get update once, then one
# apt-get install -y. Services the packages would start (nginx, lighttpd on port 80) are kept
# from starting with a temporary policy-rc.d. Returns non-zero if it cannot install them.
sse_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    sse_say "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    return 1
  fi
  sse_say "installing: ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d made_policy=no rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=yes
  fi
  if [ -z "${SSE_FCGI_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    SSE_FCGI_APT_UPDATED=1
  fi
  if [ $rc -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  fi
  [ "$made_policy" = yes ] && rm -f "$policy"
  return $rc
}

# npm, from Debian only if there is none (a Node.js install usually brings its own).
sse_ensure_npm() {
  command -v npm >/dev/null 2>&1 || sse_install_packages npm
}

# Build the responder in the tree $1 if needed; extra arguments go to configure.
sse_build() {
  local top=$1; shift
  ( cd "$top" || exit 1
    if [ ! -f Makefile ] || [ configure.ac -nt Makefile ] || [ $# -gt 0 ]; then
      autoreconf -fi && ./configure "$@" || exit 1
    fi
    make -j2 )
}

# How a web server in front of one responder is sized for the responder's --max-connections
# streams ($2, 10000 by default) within this machine's open-file hard limit (ulimit -Hn), as
# NAME=VALUE lines for contrib/render-config:
#   sse_front_sizing nginx [MAX]     WORKER_PROCESSES, WORKER_CONNECTIONS, WORKER_RLIMIT_NOFILE
#                                    for contrib/nginx/nginx-standalone.conf
#   sse_front_sizing lighttpd [MAX]  MAX_FDS, MAX_CONNECTIONS for lighttpd-standalone.conf, and
#                                    RESPONDER_MAX_CONNECTIONS: MAX, or less if lighttpd cannot
#                                    carry MAX streams in the file limit (the responder must refuse
#                                    a stream with its JSON 503 before lighttpd refuses it)
# Both servers hold two fds per stream (the client's and the responder's). Besides the streams,
# each must carry the short requests (stats, publish, disconnect, acks) and the streams past the
# limit that are being answered 503: MAX/8 + 64 more. nginx: a worker holds at most
# WORKER_RLIMIT_NOFILE fds (never above the hard limit: nginx cannot raise it), so past it more
# workers, among which sse-fcgi.conf's "listen ... reuseport" spreads the connections; each sized
# for 8/7 of its share, against an uneven spread. lighttpd: one process of MAX_FDS fds that stops accepting at 9/10 of
# them (its high-water mark), so at most (MAX_FDS * 9/10 - 64) / 2 streams and short requests.
sse_front_sizing() {
  local front=$1 max=${2:-10000} hard
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && hard=1048576
  [ "$hard" -gt 1048576 ] && hard=1048576
  local held=$((max + max / 8 + 64))     # streams and short requests at once
  case "$front" in
    nginx)
      local conns=$((2 * held)) wc_max=$((hard - 64)) workers wc
      workers=$(( (conns * 8 + wc_max * 7 - 1) / (wc_max * 7) ))
      [ "$workers" -ge 1 ] || workers=1
      if [ "$workers" -eq 1 ]; then
        wc=$((conns * 8 / 7 + 256)); [ "$wc" -le "$wc_max" ] || wc=$wc_max
      else
        wc=$wc_max
      fi
      echo "WORKER_PROCESSES=$workers"
      echo "WORKER_CONNECTIONS=$wc"
      echo "WORKER_RLIMIT_NOFILE=$((wc + 64))"
      ;;
    lighttpd)
      local fds=$(( (2 * held + 64) * 10 / 9 + 1 )) resp=$max
      [ "$fds" -le "$hard" ] || fds=$hard
      local carried=$(( (fds * 9 / 10 - 64) / 2 ))   # streams and short requests it can hold
      # The responder's limit leaves an eighth of what lighttpd carries to short requests.
      [ $((resp + resp / 8 + 64)) -le "$carried" ] || resp=$(( (carried - 64) * 8 / 9 ))
      echo "MAX_FDS=$fds"
      echo "MAX_CONNECTIONS=$carried"
      echo "RESPONDER_MAX_CONNECTIONS=$resp"
      ;;
    *) sse_say "sse_front_sizing: nginx or lighttpd, not $front"; return 2 ;;
  esac
}

# The last --max-connections N (or --max-connections=N) among the words of $1; 10000 without one.
sse_max_connections() {
  local max=10000 prev='' w
  # shellcheck disable=SC2086 # a list of options
  for w in $1; do
    case "$w" in --max-connections=*) max=${w#*=} ;; *) [ "$prev" = --max-connections ] && max=$w ;; esac
    prev=$w
  done
  echo "$max"
}
