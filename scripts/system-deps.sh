#!/bin/sh
# Make sure Debian packages are installed: `system-deps.sh nginx [chromium]`.
# Installs missing ones with apt-get when it can (root); otherwise says exactly what to run.
missing=""
for pkg in "$@"; do
    case "$pkg" in
        nginx) command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx" ;;
        chromium) [ -x /usr/bin/chromium ] || missing="$missing chromium" ;;
        *) dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null && exit 0
    echo "apt-get could not install:$missing" >&2
    exit 1
fi
echo "missing system packages:$missing -- install them with: sudo apt-get install$missing" >&2
exit 1
