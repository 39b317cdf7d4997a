#!/usr/bin/env bash
# Installs what alloctop needs to build, test and benchmark, from Debian packages.
# Idempotent: runs apt-get only when a package is missing.
set -euo pipefail

PKGS=(
  make gcc g++ clang llvm pkg-config
  libbpf-dev bpftool linux-libc-dev
  libelf-dev libdw-dev zlib1g-dev
  libc6-dbg
  libjson-c-dev libncurses-dev libiberty-dev libcapstone-dev libprotobuf-c-dev libmicrohttpd-dev
  protobuf-c-compiler protobuf-compiler g++ binutils
  tmux python3
  prometheus
  libclang-rt-14-dev util-linux mount
  libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0
  libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev
)
# prometheus and promtool: tests/integration/test_export.py starts its own Prometheus on
# loopback (the package also enables a system service on :9090; `systemctl disable --now
# prometheus` if it is not wanted there).
# the Rust stack workload: Debian's rustc unless one is installed already (rustup)
command -v rustc >/dev/null 2>&1 || [ -x "${HOME:-/root}/.cargo/bin/rustc" ] || PKGS+=(rustc)
# the Rust strategies workload (tests/rust/strategies): cargo, offline, from Debian's crates
command -v cargo >/dev/null 2>&1 || [ -x "${HOME:-/root}/.cargo/bin/cargo" ] || PKGS+=(cargo)
PKGS+=(librust-smallvec-dev librust-bumpalo-dev librust-arrayvec-dev)
# bench only (make bench): the tools alloctop is compared with. bcc's memleak compiles
# against kernel headers; for a kernel without its own (no /lib/modules/VER/build) the
# bench points bcc at Debian's generic ones, which do for user-space probes.
# bench/server.sh: the servers it measures (Debian's redis-server allocates through
# jemalloc) and their load generators (redis-benchmark is in redis-tools).
[ "${ALLOCTOP_BENCH_DEPS:-0}" = 1 ] &&
  PKGS+=(bpfcc-tools heaptrack "linux-headers-$(dpkg --print-architecture)"
         redis-server redis-tools nginx wrk)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (sudo $0) to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
