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
