#!/usr/bin/env bash
# git-dedup benchmarks (never run as tests).  Every figure is a ratio against
# a baseline measured in the same run, on the same machine:
#   1. hashing real JPEG photos vs. `djpeg -scale 1/8` decoding the same files;
#   2. the Hamming index vs. brute force at 100k codes, radius 31;
#   3. peak memory of `git dedup check --all` as the dataset grows;
#   4. a commit that stages no image (the fast path) vs. one that stages one;
#   5. images/s from one tar shard vs. the same images as files (in process,
#      bench_archive), then `git dedup check --all` on both as repositories;
#   6. overlapping crops (bench_overlap, one seed): recall per overlap band,
#      false positives pairwise and end to end, feature size, and the time
#      local features add to whole-image hashing.
# usage: bench/run.sh [build-dir]   (default: build-bench, configured Release)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
build=${1:-build-bench}
if [ ! -x "$build/git-dedup" ] || [ "$#" -eq 0 ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
bin=$(cd "$build" && pwd)
export PATH="$bin:$PATH"
export GIT_CONFIG_NOSYSTEM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/git-dedup-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
photos=/usr/share/backgrounds/mate

echo "== 1. hashing vs. djpeg -scale 1/8 (real photos, $(find $photos -name '*.jpg' | wc -l) JPEGs)"
"$bin/bench/bench_hash"

echo
echo "== 2. index vs. brute force"
"$bin/bench/bench_index" 100000 2000 31

echo
echo "== 3. peak memory of 'git dedup check --all' vs. number of images"
# Distinct small images: lossless crops of one photo at different offsets
# (a baseline copy at 1920x1080, so that each crop is cheap to cut).
big=$work/source.jpg
djpeg -scale 1/2 "$photos/abstract/Elephants_3840x2160.jpg" | cjpeg -quality 85 >"$big"
make_repo() { # make_repo DIR N
  local dir=$1 n=$2 i x y split
  git init -q -b main "$dir"
  git -C "$dir" config user.name bench
  git -C "$dir" config user.email bench@example.invalid
  mkdir -p "$dir/train" "$dir/test"
  for ((i = 0; i < n; i++)); do
    x=$(( (i * 37) % 1600 )); y=$(( (i * 53) % 840 ))
    split=train; [ $((i % 5)) -eq 0 ] && split=test
    jpegtran -crop 320x240+$x+$y -outfile "$dir/$split/img$i.jpg" "$big"
  done
  git -C "$dir" add -A
  git -C "$dir" -c core.hooksPath=/dev/null commit -q -m dataset
}
# The whole-image path (exact keys, perceptual hash, Hamming index), with
# overlap search off: its memory must not grow with the images beyond the
# index.  These crops all come from one photograph, so they overlap each
# other: the worst case for overlap search, measured separately below.
for n in 250 1000 4000; do
  make_repo "$work/mem$n" "$n"
  git -C "$work/mem$n" config dedup.overlap false
  cold=$(cd "$work/mem$n" && "$bin/bench/bench_spawn" 1 git-dedup check --all)
  warm=$(cd "$work/mem$n" && "$bin/bench/bench_spawn" 3 git-dedup check --all)
  echo "images=$n  cold(decode all): $cold"
  echo "images=$n  warm(cache):      $warm"
done
for n in 250 1000; do
  git -C "$work/mem$n" config --unset dedup.overlap
  warm=$(cd "$work/mem$n" && "$bin/bench/bench_spawn" 1 git-dedup check --all)
  echo "images=$n  warm, with overlap search (all crops of one photo): $warm"
done

echo
echo "== 4. fast path: a commit that stages no image (dataset of 4000 images, warm cache)"
repo=$work/mem4000
echo "readme" > "$repo/README.md"; git -C "$repo" add README.md
fast=$(cd "$repo" && "$bin/bench/bench_spawn" 5 git-dedup check)
gitst=$(cd "$repo" && "$bin/bench/bench_spawn" 5 git status --porcelain)
echo "check, only README staged:      $fast"
echo "git status (for scale):         $gitst"
jpegtran -crop 320x240+11+7 -outfile "$repo/test/new.jpg" "$big"; git -C "$repo" add test/new.jpg
one=$(cd "$repo" && "$bin/bench/bench_spawn" 1 git-dedup check)
echo "check, one new test image:      $one"

echo
echo "== 5. a tar shard vs. the same images as files"
"$bin/bench/bench_archive" 1000
# End to end, cold cache: 500 small images as blobs in train/, and as one tar shard.
shard=$work/shard
mkdir -p "$shard/files"
for ((i = 0; i < 500; i++)); do
  x=$(( (i * 37) % 1600 )); y=$(( (i * 53) % 840 ))
  jpegtran -crop 320x240+$x+$y -outfile "$shard/files/img$i.jpg" "$big"
done
for kind in files tar; do
  dir=$work/repo-$kind
  git init -q -b main "$dir"
  mkdir -p "$dir/train"
  if [ "$kind" = files ]; then
    cp "$shard"/files/*.jpg "$dir/train/"
  else
    tar -cf "$dir/train/shard-000.tar" -C "$shard/files" .
  fi
  git -C "$dir" add -A
  git -C "$dir" -c user.name=bench -c user.email=bench@example.invalid \
    -c core.hooksPath=/dev/null commit -q -m dataset
  t=$(cd "$dir" && rm -rf .git/dedup && "$bin/bench/bench_spawn" 1 git-dedup check --all)
  ms=$(echo "$t" | sed -n 's/.*wall_ms=\([0-9.]*\).*/\1/p')
  echo "check --all, 500 images as $kind (cold cache): $t  => $(awk -v ms="$ms" 'BEGIN { printf "%.0f", 500 * 1000 / ms }') images/s"
done

echo
echo "== 6. overlapping crops (seed 6; the README's figures sum seeds 6, 7 and 11-28)"
"$bin/bench/bench_overlap" -s 6
