#!/usr/bin/env bash
# `git dedup check` on the kinds of change a dataset sees: deletions, renames,
# both directions, awkward names, split suffixes, transforms, unreadable
# images, --all, config and usage errors.
. "$(dirname "$0")/lib.sh"

# ============================================================================
# A commit that stages no image: decided at once, no cache created.
new_repo noimage
photo Dune.jpg data/train/Dune.jpg
photo Storm.jpg data/test/Storm.jpg
git add . && commit_quiet "dataset"
echo "read me" >README
git add README
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
check "no .git/dedup created for a README-only change" test ! -e .git/dedup
expect_exit 0 git dedup check --format json
expect_grep '^\{"version":1,"mode":"staged",.*"leaks":\[\],"unreadable":\[\],.*"exit_code":0\}\}$' "$OUT"
check "still no .git/dedup after the JSON check" test ! -e .git/dedup
# an image outside any split is ignored: a byte copy of a training photo
photo Dune.jpg assets/Dune-copy.jpg
photo Dune.jpg data/Dune-copy.jpg
photo Dune.jpg data/trainer/Dune-copy.jpg # "trainer" is not a split name
photo Dune.jpg data/test/Dune-copy.txt     # not an image by extension
git add .
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
check "no .git/dedup created for images outside splits" test ! -e .git/dedup
git commit -q --no-verify -m "misc"

# ============================================================================
new_repo changes
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
photo Wood.jpg data/train/Wood.jpg
photo Dune.jpg data/train/Dune-dup.jpg # identical bytes, second path
resized_copy Aqua.jpg data/train/aqua-small.jpg
photo Storm.jpg data/test/Storm.jpg
git add . && commit_quiet "dataset"

# --- deletion of a train image passes --------------------------------------
git rm -q data/train/Wood.jpg
expect_exit 0 git dedup check
expect_no_grep '^LEAK ' "$OUT"
commit_quiet "drop Wood"

# --- rename train -> test while an identical copy stays in train -----------
git mv data/train/Dune-dup.jpg data/test/Dune-dup.jpg
expect_exit 1 git dedup check
expect_line "LEAK data/test/Dune-dup.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_exit 1 git dedup check --format json
expect_contains '"leaks":[{"kind":"exact_bytes","held_out":{"path":"data/test/Dune-dup.jpg","split":"test"},"train":{"path":"data/train/Dune.jpg","split":"train"},"transform":"identity","distance":0}]' "$OUT"
expect_contains '"exit_code":1}}' "$OUT"
git reset -q --hard

# --- rename train -> val while a near copy stays in train ------------------
mkdir -p data/val
git mv data/train/aqua-small.jpg data/val/aqua-small.jpg
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/val/aqua-small.jpg val data/train/Aqua.jpg train)" "$OUT"
git reset -q --hard

# --- a move with no copy left behind is fine -------------------------------
git mv data/train/Aqua.jpg data/test/Aqua.jpg
git rm -q data/train/aqua-small.jpg
expect_exit 0 git dedup check
expect_no_grep '^LEAK ' "$OUT"
git reset -q --hard

# --- the other direction: a new train image copying a committed test image --
resized_copy Storm.jpg data/train/storm-small.jpg
git add data/train/storm-small.jpg
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/Storm.jpg test data/train/storm-small.jpg train)" "$OUT"
expect_exit 1 git dedup check --json
expect_grep '"held_out":\{"path":"data/test/Storm.jpg","split":"test"\},"train":\{"path":"data/train/storm-small.jpg","split":"train"\},"transform":"identity"' "$OUT"
git reset -q --hard

# --- same pixels: a lossless re-encode of a small image --------------------
djpeg -scale 1/8 "$DEDUP_PHOTO_DIR/Garden.jpg" | cjpeg -quality 90 >"$T/g8.jpg"
# 80x50: small enough to be decoded at full size, so it has a pixel hash
djpeg -scale 1/4 "$T/g8.jpg" | cjpeg -quality 90 >data/train/garden-tiny.jpg
git add data/train/garden-tiny.jpg && commit_quiet "tiny"
jpegtran -progressive data/train/garden-tiny.jpg >data/test/garden-tiny-prog.jpg
check "the progressive copy has different bytes" \
    test "$(git hash-object data/train/garden-tiny.jpg)" != "$(git hash-object data/test/garden-tiny-prog.jpg)"
git add data/test
expect_exit 1 git dedup check
expect_line "LEAK data/test/garden-tiny-prog.jpg [test] ~ data/train/garden-tiny.jpg [train]: same pixels" "$OUT"
git reset -q --hard

# --- rotated and flipped copies: transform in the report -------------------
rotated_copy Aqua.jpg data/test/aqua-rot.jpg
flipped_copy Dune.jpg data/val/dune-flip.jpg
git add data
expect_exit 1 git dedup check --format=json
expect_grep '"kind":"near_duplicate","held_out":\{"path":"data/test/aqua-rot.jpg","split":"test"\},"train":\{"path":"data/train/Aqua.jpg","split":"train"\},"transform":"rot90","distance":([0-9]|[12][0-9]|3[01])\}' "$OUT"
expect_grep '"kind":"near_duplicate","held_out":\{"path":"data/val/dune-flip.jpg","split":"val"\},"train":\{"path":"data/train/Dune(-dup)?.jpg","split":"train"\},"transform":"flip_h","distance":([0-9]|[12][0-9]|3[01])\}' "$OUT"
expect_contains '"summary":{"leaks":2,"unreadable":0,' "$OUT"
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/aqua-rot.jpg test data/train/Aqua.jpg train rot90)" "$OUT"
expect_grep '^LEAK data/val/dune-flip\.jpg \[val\] ~ data/train/Dune(-dup)?\.jpg \[train\]: near duplicate \(flip_h\), distance ([0-9]|[12][0-9]|3[01]) of 256$' "$OUT"
# ties go to the first training path
expect_contains 'data/val/dune-flip.jpg [val] ~ data/train/Dune-dup.jpg [train]' "$OUT"
git reset -q --hard

# --- names with spaces, quotes and non-ASCII letters ------------------------
photo Dune.jpg "data/test/photo é 1.jpg"
photo Aqua.jpg 'data/val/say "cheese".jpg'
git add data
expect_exit 1 git dedup check
# exactly as git quotes them (core.quotePath default: true)
q1=$(git diff --cached --name-only -- data/test)
q2=$(git diff --cached --name-only -- data/val)
expect_eq "$q1" '"data/test/photo \303\251 1.jpg"' "git's own quoting of the non-ASCII name"
expect_line "LEAK $q1 [test] ~ data/train/Dune-dup.jpg [train]: exact bytes" "$OUT"
expect_line "LEAK $q2 [val] ~ data/train/Aqua.jpg [train]: exact bytes" "$OUT"
git config core.quotePath false
expect_exit 1 git dedup check
expect_eq "$(git diff --cached --name-only -- data/test)" "data/test/photo é 1.jpg" "git: quotePath=false"
expect_line "LEAK data/test/photo é 1.jpg [test] ~ data/train/Dune-dup.jpg [train]: exact bytes" "$OUT"
expect_line 'LEAK "data/val/say \"cheese\".jpg" [val] ~ data/train/Aqua.jpg [train]: exact bytes' "$OUT"
git config --unset core.quotePath
expect_exit 1 git dedup check --format json
expect_contains '"held_out":{"path":"data/test/photo é 1.jpg","split":"test"}' "$OUT"
expect_contains '"held_out":{"path":"data/val/say \"cheese\".jpg","split":"val"}' "$OUT"
git reset -q --hard
rm -f "data/test/photo é 1.jpg" 'data/val/say "cheese".jpg'
# a training image with a space in its name
photo Wood.jpg "data/train/old wood.jpg"
git add data && commit_quiet "old wood"
resized_copy Wood.jpg "data/test/wood copy.jpg"
git add data
expect_exit 1 git dedup check
expect_grep "$(near_leak_re "data/test/wood copy.jpg" test "data/train/old wood.jpg" train)" "$OUT"
git reset -q --hard
rm -f "data/test/wood copy.jpg"

# --- threshold --------------------------------------------------------------
lossy_copy Dune.jpg data/test/dune-small.jpg
git add data
# The lossy copy is not within distance 0; and overlap detection, which
# would still see a whole-image crop, is off for this part.
git config dedup.overlap false
git config dedup.threshold 0
expect_exit 0 git dedup check
expect_no_grep '^LEAK ' "$OUT"
git config dedup.threshold 255
expect_exit 1 git dedup check --json
expect_contains '"threshold":255' "$OUT"
git config --unset dedup.threshold
expect_exit 1 git dedup check --json
expect_contains '"threshold":31' "$OUT"
git config --unset dedup.overlap
git reset -q --hard

# ============================================================================
# Split suffixes and case
new_repo splits
photo Dune.jpg coco/train2017/Dune.jpg
photo Aqua.jpg coco/Training/Aqua.JPG
photo Wood.jpg sets/TRAIN_v2/Wood.jpeg
photo Storm.jpg deep/test/train/Storm.jpg # the nearest split component wins: train
git add . && commit_quiet "train sets"
resized_copy Dune.jpg coco/val2017/000001.jpg
photo Aqua.jpg coco/test-dev/a.jpg
photo Wood.jpg sets/Validation/w.jpg
photo Storm.jpg other/testing_v3/s.jpg
git add .
expect_exit 1 git dedup check
expect_grep "$(near_leak_re coco/val2017/000001.jpg val coco/train2017/Dune.jpg train)" "$OUT"
expect_line "LEAK coco/test-dev/a.jpg [test] ~ coco/Training/Aqua.JPG [train]: exact bytes" "$OUT"
expect_line "LEAK other/testing_v3/s.jpg [test] ~ deep/test/train/Storm.jpg [train]: exact bytes" "$OUT"
expect_line "LEAK sets/Validation/w.jpg [val] ~ sets/TRAIN_v2/Wood.jpeg [train]: exact bytes" "$OUT"
expect_count 4 '^LEAK ' "$OUT"
git reset -q --hard
# not split names: "trainer", "contest", "test.d"
photo Dune.jpg x/trainer/a.jpg
photo Dune.jpg x/contest/b.jpg
photo Dune.jpg x/test.d/c.jpg
git add .
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
git reset -q --hard

# ============================================================================
# Unreadable images
new_repo unreadable
photo Dune.jpg data/train/Dune.jpg
git add . && commit_quiet "train"
mkdir -p data/test
head -c 2000 "$DEDUP_PHOTO_DIR/Aqua.jpg" >data/test/truncated.jpg
git add data
expect_exit 3 git dedup check
expect_grep '^UNREADABLE data/test/truncated\.jpg: .+' "$OUT"
expect_no_grep '^LEAK ' "$OUT"
reset_unreadable() { git rm -q --cached -r data/test && rm -rf data/test; }
reset_unreadable
mkdir -p data/val
echo "this is not an image" >data/val/x.jpg
git add data
expect_exit 3 git dedup check
expect_grep '^UNREADABLE data/val/x\.jpg: .+' "$OUT"
expect_exit 3 git dedup check --json
expect_grep '"unreadable":\[\{"path":"data/val/x.jpg","split":"val","reason":"[^"]+"\}\]' "$OUT"
expect_contains '"exit_code":3}}' "$OUT"
head -c 2000 "$DEDUP_PHOTO_DIR/Aqua.jpg" >data/val/truncated.jpg
git add data
git config dedup.unreadable warn
expect_exit 0 git dedup check
expect_grep '^UNREADABLE data/val/truncated\.jpg: .+' "$OUT"
expect_grep '^UNREADABLE data/val/x\.jpg: .+' "$OUT"
expect_grep '^git-dedup: ok with warnings: ' "$OUT"
git config dedup.unreadable fail
expect_exit 3 git dedup check
# a leak plus an unreadable image: the leak decides (1)
resized_copy Dune.jpg data/val/dune-small.jpg
git add data
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/val/dune-small.jpg val data/train/Dune.jpg train)" "$OUT"
expect_grep '^UNREADABLE data/val/x\.jpg: ' "$OUT"
git config dedup.unreadable warn
expect_exit 1 git dedup check
git config --unset dedup.unreadable

# ============================================================================
# --all on a dataset with a leak already committed
new_repo all
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
resized_copy Dune.jpg data/test/old-leak.jpg
photo Storm.jpg data/test/Storm.jpg
git add . && commit_quiet "dataset with a leak"
expect_exit 0 git dedup check # nothing staged
expect_exit 1 git dedup check --all
expect_grep "$(near_leak_re data/test/old-leak.jpg test data/train/Dune.jpg train)" "$OUT"
expect_count 1 '^LEAK ' "$OUT"
expect_exit 1 git dedup check --all --format json
expect_contains '"mode":"all"' "$OUT"
expect_contains '"held_out":{"path":"data/test/old-leak.jpg","split":"test"},"train":{"path":"data/train/Dune.jpg","split":"train"}' "$OUT"
# a bare clone: --all checks HEAD
git clone -q --bare "$REPO" "$T/all.git"
expect_exit 1 git --git-dir="$T/all.git" dedup check --all
expect_grep "$(near_leak_re data/test/old-leak.jpg test data/train/Dune.jpg train)" "$OUT"

# ============================================================================
# Config, repository and usage errors
new_repo errors
photo Dune.jpg data/train/Dune.jpg
git add .
git config dedup.threshold abc
expect_exit 2 git dedup check
expect_grep '^git-dedup: error: .*dedup\.threshold' "$ERR"
git config dedup.threshold 256
expect_exit 2 git dedup check
expect_grep '^git-dedup: error: .*dedup\.threshold' "$ERR"
git config dedup.threshold -1
expect_exit 2 git dedup check
git config --unset dedup.threshold
git config dedup.unreadable maybe
expect_exit 2 git dedup check
expect_grep '^git-dedup: error: .*dedup\.unreadable' "$ERR"
git config --unset dedup.unreadable
expect_exit 0 git dedup check
expect_exit 2 git dedup check --bogus
expect_grep 'unknown option' "$ERR"
expect_exit 2 git dedup check --format xml
expect_exit 2 git dedup check --format
expect_exit 2 git dedup frobnicate
expect_exit 2 git-dedup
expect_exit 2 git dedup install extra
expect_exit 0 git-dedup --help
expect_grep '^usage: git dedup check' "$OUT"
expect_exit 0 git-dedup check --help
expect_grep '^usage: git dedup check' "$OUT"
expect_exit 0 git-dedup --version
expect_grep '^git-dedup [0-9]+\.[0-9]+\.[0-9]+' "$OUT"
mkdir -p "$T/plain/sub"
cd "$T/plain/sub"
expect_exit 2 git-dedup check
expect_grep '^git-dedup: error: not a git repository' "$ERR"
expect_exit 2 git-dedup install
check "install outside a repository creates nothing" test -z "$(ls -A "$T/plain/sub")"

finish
