#!/usr/bin/env bash
# Install everything git-dedup needs to build, test and run its demo, from
# Debian packages only.  Safe to run again: apt skips what is installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libgit2-dev libturbojpeg0-dev libspng-dev libxxhash-dev libarchive-dev libsqlite3-dev
  libjpeg62-turbo-dev libwebp-dev libgif-dev zlib1g-dev
  # manifests: YOLO data.yaml, JSON lines and COCO annotation JSON
  libyaml-dev libyajl-dev
  # fuzzing (scripts/test.sh): clang with its libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # tests and demo: real git clients, JPEG tools, real photographs
  sqlite3 pre-commit libjpeg-turbo-progs webp mate-backgrounds
  # tests of images in Git LFS and in tar/zip shards: the real git-lfs client, zip, zstd
  git-lfs zip zstd
  plasma-workspace-wallpapers # bench/bench_overlap.c: more large real photographs
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
