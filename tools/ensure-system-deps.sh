#!/usr/bin/env bash
# The tests need Debian's Chromium (Playwright's own browser download cannot
# work here), nc (the echo server must answer it) and redis-server (the viewer
# relays' tests start their own, on loopback). Install what is missing when
# we are root; otherwise say exactly what to install.
set -eu
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "Missing: ${missing[*]}. Install them, e.g.: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
