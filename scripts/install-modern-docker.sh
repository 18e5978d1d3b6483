#!/usr/bin/env bash
# install-modern-docker.sh - installs Docker 26 (Debian 13 "trixie" docker.io 26, which
# embeds BuildKit 0.13, plus docker-buildx and docker-cli) on this Debian 12 machine. It is
# kiln's REFERENCE builder: differential tests and benchmarks compare kiln's output with it.
#
# Why: bookworm's docker.io 20.10 embeds a 2021 BuildKit whose Dockerfile frontend lacks
# heredocs and other current syntax, and a `# syntax=` frontend image cannot be pulled here
# (no container registry is reachable). Only these packages come from trixie: the trixie
# suite is added with apt pin priority 100, so nothing else on the machine moves.
#
# Idempotent and fast when Docker 26+ with buildx is already there (no apt run at all).
# Needs root and the Debian mirror (taken from the host's own apt sources, or MIRROR=...).
#
# Afterwards always call /usr/bin/docker: /usr/local/bin/docker (first in PATH on this
# machine image) is another client without buildx. Tests start their own private dockerd
# (test/helpers/dockerd.ts); by hand:
#   /usr/sbin/dockerd --storage-driver=overlay2 --iptables=false --ip-masq=false \
#     --bridge=none -H unix:///var/run/docker.sock
set -euo pipefail

have_modern() {
  [ -x /usr/bin/docker ] && [ -x /usr/sbin/dockerd ] &&
    /usr/bin/docker --version 2>/dev/null | grep -Eq 'version (2[6-9]|[3-9][0-9])\.' &&
    /usr/bin/docker buildx version >/dev/null 2>&1
}

if have_modern; then
  echo "[install-modern-docker] present: $(/usr/bin/docker --version)" >&2
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "[install-modern-docker] needs root" >&2; exit 1; }

# The archive URI the host's apt sources use for bookworm (deb822 *.sources or one-line lists).
host_uri() {
  { awk '/^URIs:/{u=$2} /^Suites:/{for (i = 2; i <= NF; i++) if ($i == "bookworm") {print u; exit}}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | head -1
}
src=/etc/apt/sources.list.d/kiln-trixie.sources
pin=/etc/apt/preferences.d/kiln-trixie-low
if [ ! -f "$src" ]; then
  uri=${MIRROR:-$(host_uri)}
  [ -n "$uri" ] || { echo "[install-modern-docker] no bookworm mirror in the apt sources; set MIRROR" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$src"
fi
# trixie packages only when asked for explicitly (-t trixie); never an upgrade target
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > "$pin"

echo "[install-modern-docker] apt-get install -t trixie docker.io docker-buildx docker-cli" >&2
apt-get update -qq >&2 || echo "[install-modern-docker] WARN: apt-get update reported errors (unreachable extra sources?)" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -t trixie docker.io docker-buildx docker-cli >&2

have_modern || { echo "[install-modern-docker] Docker 26+ with buildx still missing after install" >&2; exit 1; }
echo "[install-modern-docker] installed: $(/usr/bin/docker --version); $(/usr/bin/docker buildx version)" >&2
