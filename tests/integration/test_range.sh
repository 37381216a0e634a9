#!/usr/bin/env bash
# `git dedup check --range <base>..<head>` as CI runs it on a pull request:
# what head changes since the merge base, against the whole dataset at head;
# in a bare clone and in a shallow clone with the base fetched.  And
# `--rev <commit>`: the whole dataset at one commit.
. "$(dirname "$0")/lib.sh"

new_repo origin
photo Dune.jpg data/train/dune.jpg
photo Aqua.jpg data/train/aqua.jpg
photo Storm.jpg data/test/storm.jpg
git add . && commit_quiet "dataset"
# an old leak on main: not the pull request's fault
photo Wood.jpg data/train/wood.jpg
photo Wood.jpg data/test/wood-old-copy.jpg
git add . && commit_quiet "old leak"
git checkout -q -b feature
resized_copy Dune.jpg data/test/dune-small.jpg
git add . && commit_quiet "a leak"
photo Garden.jpg data/test/garden.jpg
git add . && commit_quiet "a clean test image"
# main moves on after the branch point
git checkout -q main
photo LadyBird.jpg data/train/ladybird.jpg
git add . && commit_quiet "main moves on"
git checkout -q feature

# --- in the working repository ----------------------------------------------
expect_exit 1 git dedup check --range main..feature
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_exit 1 git dedup check --range main...feature --format json
expect_contains '"mode":"range"' "$OUT"
expect_contains '"new":2,' "$OUT"
expect_exit 1 git dedup check --range=main.. # head defaults to HEAD
expect_count 1 '^LEAK ' "$OUT"
expect_exit 0 git dedup check --range feature~1..feature
expect_exit 0 git dedup check --range feature..main # main's new training image: clean
expect_contains "1 new," "$OUT"
expect_exit 0 git dedup check --range main~1..main~1
expect_line "git-dedup: ok: no changed image in a train/test/val split to check." "$OUT"
expect_exit 1 git dedup check --rev main
expect_line "LEAK data/test/wood-old-copy.jpg [test] ~ data/train/wood.jpg [train]: exact bytes" "$OUT"
expect_exit 2 git dedup check --range nosuch..feature
expect_grep "^git-dedup: error: --range: cannot find commit 'nosuch'" "$ERR"
expect_exit 2 git dedup check --range feature
expect_grep "is not a range" "$ERR"
expect_exit 2 git dedup check --range main..feature --all
expect_exit 2 git dedup check --rev
# the range reads each side's own manifests, not the working tree's
git checkout -q -b relabel main
printf 'path,split\ndata/train/aqua.jpg,test\n' >splits.csv
printf '[dedup]\n\tmanifest = splits.csv\n' >.gitdedup
photo Aqua.jpg data/train/aqua-again.jpg
git add . && commit_quiet "aqua to test via a manifest, and a copy in train"
git checkout -q feature
expect_exit 1 git dedup check --range main..relabel
expect_line "LEAK data/train/aqua.jpg [test] ~ data/train/aqua-again.jpg [train]: exact bytes" "$OUT"

# --- a bare clone (what a CI runner or server has) ----------------------------
git clone -q --bare "$REPO" "$T/bare.git"
expect_exit 1 git --git-dir="$T/bare.git" dedup check --range main..feature
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_exit 0 git --git-dir="$T/bare.git" dedup check --range feature~1..feature
here=$(pwd)
cd "$T/bare.git" # no subshell: assertions count here
expect_exit 1 git dedup check --range main..feature
cd "$here"
expect_exit 1 git --git-dir="$T/bare.git" dedup check --rev feature
expect_count 2 '^LEAK ' "$OUT"

# --- a shallow clone with the base fetched --------------------------------------
git clone -q --depth 3 --branch feature "file://$REPO" "$T/shallow"
cd "$T/shallow"
git fetch -q --depth 2 origin main:refs/remotes/origin/main
check "the clone is shallow" test -f "$(git rev-parse --git-dir)/shallow"
expect_exit 1 git dedup check --range origin/main..HEAD
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
# cut above the merge base: the base itself stands in, and a note says so
git clone -q --depth 1 --branch feature "file://$REPO" "$T/shallower"
cd "$T/shallower"
git fetch -q --depth 1 origin main:refs/remotes/origin/main
expect_exit 1 git dedup check --range origin/main..HEAD
expect_grep 'note: no merge base of origin/main and HEAD found' "$ERR"
expect_grep "$(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train)" "$OUT"

finish
