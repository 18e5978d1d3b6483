#!/usr/bin/env bash
# bench/setup.sh - installs and configures the builders kiln is benchmarked against
# (bench/peers/*.ts, `npm run bench`), as root on this project's machine kind (Debian 12,
# no systemd, no container registry reachable). Idempotent; ~1 min the first time.
#
#   bash bench/setup.sh            packages + /etc/containers config + base-image OCI layout
#   bash bench/setup.sh check      print which peer builders run here
#
# What it sets up:
#   Docker 26 (BuildKit 0.13 inside dockerd) via scripts/install-modern-docker.sh. The bench
#     starts and stops its OWN dockerd (own data-root/exec-root/socket, see bench/peers/docker.ts);
#     it never touches a system dockerd. Always /usr/bin/docker (/usr/local/bin/docker is
#     another client without buildx).
#   buildah + podman (Debian 12: 1.28 / 4.3), runc, fuse-overlayfs, conmon, ...; config in
#     /etc/containers: cgroupfs manager (no systemd), runtime runc (crun 1.8 fails on this
#     kernel's hybrid cgroup layout: "cgroups in hybrid mode not supported"), overlay storage.
#   skopeo (base images into docker-archive / containers-storage), pigz/gzip, jq.
#   The base images as one OCI layout ($KILN_BENCH_LAYOUT, default /var/cache/kiln/base-layout)
#     via scripts/make-base-images.sh --oci-layout: every builder loads the same images from it.
set -euo pipefail
cd "$(dirname "$0")/.."
LAYOUT=${KILN_BENCH_LAYOUT:-/var/cache/kiln/base-layout}
log() { printf '[bench/setup %s] %s\n' "$(date +%T)" "$*" >&2; }

PACKAGES=(buildah podman runc conmon catatonit fuse-overlayfs slirp4netns uidmap
  containernetworking-plugins golang-github-containers-common skopeo jq gzip)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  bash scripts/install-modern-docker.sh >/dev/null
  if [[ ${#missing[@]} -eq 0 ]]; then log "packages: all installed"; return; fi
  log "packages: installing ${missing[*]}"
  apt-get update -qq || log "WARN: apt-get update reported errors"
  # bookworm versions (the trixie source added for Docker 26 is pinned at priority 100)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_containers() {
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'EOF'
# kiln bench (bench/setup.sh): no systemd on this machine -> cgroupfs + file events.
# runc, not crun: crun 1.8 refuses this kernel's hybrid cgroup layout.
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
  cat > /etc/containers/storage.conf <<'EOF'
# kiln bench (bench/setup.sh)
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
[storage.options.overlay]
mountopt = "nodev"
EOF
  # plain names (busybox, gcc:12, ...) resolve to docker.io/library/..., where the bench puts
  # the locally made base images; nothing is ever pulled (no registry is reachable)
  if [[ ! -f /etc/containers/registries.conf ]] || ! grep -q '^unqualified-search-registries' /etc/containers/registries.conf; then
    printf '\nunqualified-search-registries = ["docker.io"]\n' >> /etc/containers/registries.conf
  fi
  [[ -f /etc/containers/policy.json ]] || printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > /etc/containers/policy.json
  log "containers: /etc/containers configured (overlay, cgroupfs, runc)"
}

base_layout() {
  if [[ -f $LAYOUT/index.json ]] && [[ $(jq '[.manifests[] | .annotations["org.opencontainers.image.ref.name"]] | map(select(. == "busybox:latest" or . == "debian:bookworm-slim" or . == "node:20-slim" or . == "gcc:12")) | length' "$LAYOUT/index.json") -ge 4 ]]; then
    log "base images: $LAYOUT has all four"; return
  fi
  log "base images: scripts/make-base-images.sh --oci-layout $LAYOUT"
  bash scripts/make-base-images.sh --oci-layout "$LAYOUT"
}

check() {
  local v
  echo "docker:  $(/usr/bin/docker --version 2>&1 | head -1)"
  echo "buildx:  $(/usr/bin/docker buildx version 2>&1 | head -1)"
  v=$(buildah --version 2>&1) && echo "buildah: $v" || echo "buildah: ABSENT ($v)"
  v=$(podman --version 2>&1) && echo "podman:  $v" || echo "podman:  ABSENT ($v)"
  echo "runc:    $(runc --version 2>&1 | head -1)"
  echo "skopeo:  $(skopeo --version 2>&1)"
}

case ${1:-all} in
  all) [[ $(id -u) == 0 ]] || { log "needs root"; exit 1; }
       install_packages; configure_containers; base_layout; check ;;
  check) check ;;
  *) echo "usage: $0 [all|check]" >&2; exit 2 ;;
esac
