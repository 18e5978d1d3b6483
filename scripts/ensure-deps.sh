#!/usr/bin/env bash
# Installs what kiln's build, tests and demo need, idempotently and quickly when
# everything is already there:
#   - npm dependencies (npm ci) when node_modules is missing or older than the lockfile;
#   - Debian packages (runc, skopeo, umoci, docker-registry, ...) when running as root;
#   - Docker 26 (the reference builder, scripts/install-modern-docker.sh) when running as root.
# Not root: prints what is missing and goes on (tests then skip, or fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[ensure-deps] npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# gcc, libc6-dev: scripts/build-native.mjs (the mount helper; fs-xattr builds with node-gyp too)
# mmdebstrap, busybox-static, jq, attr, curl: scripts/make-base-images.sh
# tar, python3 (tarfile), zstd: layer/ oracle tests
# bzip2, xz-utils, attr: test/conformance case setup scripts (tar -j/-J archives, setfattr)
# openssh-client: `--ssh ID=KEYFILE` (an ssh-agent of kiln's own) and the ssh mount tests
# git: Git sources (ADD <repo>, a Git build context); its git daemon and http-backend serve the tests
PACKAGES=(gcc libc6-dev runc skopeo umoci docker-registry mmdebstrap busybox-static attr zstd tar python3 uidmap jq curl apache2-utils bzip2 xz-utils openssh-client git ${KILN_EXTRA_PACKAGES:-})
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[ensure-deps] apt-get install ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "[ensure-deps] not root; missing Debian packages: ${missing[*]}" >&2
  fi
fi

# Docker 26 (Debian 13 docker.io + buildx) as the reference builder; the script returns at
# once when it is already installed.
if [ "$(id -u)" = 0 ]; then
  bash scripts/install-modern-docker.sh
elif ! /usr/bin/docker --version 2>/dev/null | grep -Eq 'version (2[6-9]|[3-9][0-9])\.'; then
  echo "[ensure-deps] not root; Docker 26 missing (run as root: bash scripts/install-modern-docker.sh)" >&2
fi

# The busybox base image that runtime and differential tests build on (about a second; the
# node images for the demo are made by scripts/demo.sh, on demand).
if [ "$(id -u)" = 0 ]; then
  ONLY=busybox bash scripts/make-base-images.sh >&2
fi
