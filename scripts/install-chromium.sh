#!/bin/sh
# Headless Chromium and fonts for the report page's browser test, from Debian's packages.
# Installs only what is missing; exits 0 at once when everything is already there.
set -eu

FONTS="fonts-dejavu-core fonts-lohit-deva"

missing=""
if [ ! -x /usr/bin/chromium ]; then
    missing=" chromium"
fi
for pkg in $FONTS; do
    # Fonts matter for Devanagari headings; a host with Chromium but no font still needs them.
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-chromium.sh: run as root (or install sudo) to install:$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's chatter is kept and shown only if something fails.
# shellcheck disable=SC2086  # the package list is meant to split into words
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-chromium.sh: apt-get failed installing:$missing" >&2
    exit 1
fi
[ -x /usr/bin/chromium ] || { echo "install-chromium.sh: /usr/bin/chromium is still missing" >&2; exit 1; }
echo "install-chromium.sh: installed$missing"
