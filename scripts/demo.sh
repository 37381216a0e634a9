#!/usr/bin/env bash
# Install dependencies, build and install git-dedup, then show it refusing a
# real commit: a dataset repository gets a training split of real photographs
# (Debian's mate-backgrounds), then a test split that holds a resized,
# re-encoded copy of one training photo.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target git-dedup
as_root cmake --install build >/dev/null
echo "demo: installed $(command -v git-dedup) ($(git-dedup --version))"

photos=/usr/share/backgrounds/mate/nature
demo=$(mktemp -d "${TMPDIR:-/tmp}/git-dedup-demo.XXXXXX")
cd "$demo"
git init -q -b main dataset
cd dataset
git config user.name "Demo"
git config user.email "demo@example.invalid"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A dataset repository in $demo/dataset, with git-dedup's hooks"
run git dedup install

say "Commit a training split of six photographs"
mkdir -p images/train images/test
for p in Aqua Dune Garden LadyBird Storm Wood; do cp "$photos/$p.jpg" images/train/; done
run git add images/train
run git commit -q -m "Add training images"
git log --oneline

say "Add a test split: two new photographs, and Dune.jpg resized to half and re-encoded"
cp "$photos/TwoWings.jpg" "$photos/YellowFlower.jpg" images/test/
djpeg -scale 1/2 "$photos/Dune.jpg" | cjpeg -quality 75 > images/test/dunes_0042.jpg
ls -l images/test
run git add images/test

say "git commit (the pre-commit hook runs git dedup check)"
set +e
git commit -m "Add test images"
status=$?
set -e
echo "(git commit exited with $status; HEAD is still: $(git log --oneline -1))"
if [ "$status" -eq 0 ]; then
  echo "demo: FAILED: the leaking commit went through" >&2
  exit 1
fi

say "The same check as JSON, for CI"
set +e
git dedup check --format json
set -e

say "Remove the leaked copy: now the commit passes"
run git rm -q --cached images/test/dunes_0042.jpg
rm images/test/dunes_0042.jpg
run git commit -q -m "Add test images"
git log --oneline

say "Done. The dataset is in $demo/dataset; its feature cache is $demo/dataset/.git/dedup/cache.sqlite"
