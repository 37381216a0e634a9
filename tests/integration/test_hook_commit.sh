#!/usr/bin/env bash
# The installed hook refuses real `git commit`s that leak a training image
# into a held-out split: plain commit, `commit -a`, `commit <paths>`, and
# partially staged files (the staged blob is what counts).
. "$(dirname "$0")/lib.sh"

new_repo dataset
expect_exit 0 git dedup install
check "pre-commit hook installed" test -x .git/hooks/pre-commit
check "pre-merge-commit hook installed" test -x .git/hooks/pre-merge-commit

# --- a training split commits fine -----------------------------------------
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
photo Wood.jpg data/train/Wood.jpg
echo "dataset" >README
git add .
expect_exit 0 git commit -m "train split"
check "train commit happened" git rev-parse -q --verify HEAD
expect_eq "$(git ls-tree -r --name-only HEAD | grep -c '^data/train/')" 3 "3 training images committed"
expect_contains "git-dedup: ok: no held-out image matches a training image" "$BOTH"

# --- a resized re-encoded copy in test/ is refused -------------------------
before=$(head_rev)
resized_copy Dune.jpg data/test/copy.jpg
git add data/test/copy.jpg
expect_exit 1 git commit -m "leak"
expect_eq "$(head_rev)" "$before" "refused commit: HEAD unchanged"
expect_grep "$(near_leak_re data/test/copy.jpg test data/train/Dune.jpg train)" "$BOTH"
expect_count 1 '^LEAK ' "$BOTH"
expect_contains "git-dedup: refused: 1 held-out image matches a training image" "$BOTH"
check_not "refused copy is still staged (index differs from HEAD)" git diff --cached --quiet
# the same verdict from the command itself
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/copy.jpg test data/train/Dune.jpg train)" "$OUT"
git rm -q --cached data/test/copy.jpg
rm data/test/copy.jpg

# --- an unrelated test image commits fine ----------------------------------
photo Storm.jpg data/test/Storm.jpg
git add data/test/Storm.jpg
expect_exit 0 git commit -m "clean test image"
check_not "clean commit advanced HEAD" test "$(head_rev)" = "$before"
expect_eq "$(git ls-tree --name-only HEAD data/test/)" "data/test/Storm.jpg" "clean test image committed"
expect_no_grep '^LEAK ' "$BOTH"

# --- git commit -a: a tracked test image becomes a copy in the work tree ---
before=$(head_rev)
cp "$DEDUP_PHOTO_DIR/Aqua.jpg" data/test/Storm.jpg
# nothing staged: the plain check sees no change (it reads the index, not the work tree)
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
expect_exit 1 git commit -a -m "commit -a leak"
expect_eq "$(head_rev)" "$before" "commit -a refused: HEAD unchanged"
expect_line "LEAK data/test/Storm.jpg [test] ~ data/train/Aqua.jpg [train]: exact bytes" "$BOTH"
check "commit -a left .git/index unstaged" git diff --cached --quiet

# --- git commit <path>: only-paths commit, also a temporary index ----------
expect_exit 1 git commit -m "only-paths leak" data/test/Storm.jpg
expect_eq "$(head_rev)" "$before" "commit <path> refused: HEAD unchanged"
expect_line "LEAK data/test/Storm.jpg [test] ~ data/train/Aqua.jpg [train]: exact bytes" "$BOTH"
# near copy through --only as well
resized_copy Wood.jpg data/test/Storm.jpg
expect_exit 1 git commit -m "only-paths near leak" -- data/test/Storm.jpg
expect_grep "$(near_leak_re data/test/Storm.jpg test data/train/Wood.jpg train)" "$BOTH"
git checkout -q -- data/test/Storm.jpg

# A leak staged in .git/index is NOT part of `git commit README`: the hook
# must check git's temporary index (HEAD + README), so the commit passes.
resized_copy Dune.jpg data/test/staged-leak.jpg
git add data/test/staged-leak.jpg
echo "more" >>README
expect_exit 0 git commit -m "readme only" -- README
check_not "commit <path> advanced HEAD" test "$(head_rev)" = "$before"
expect_eq "$(git ls-tree -r --name-only HEAD data/test/)" "data/test/Storm.jpg" \
    "the staged leak is not in the README-only commit"
expect_eq "$(git diff --cached --name-only)" "data/test/staged-leak.jpg" "the leak is still staged"
git rm -q --cached data/test/staged-leak.jpg
rm data/test/staged-leak.jpg

# --- partially staged: the staged blob is checked, not the work tree -------
before=$(head_rev)
photo Garden.jpg data/test/partial.jpg
git add data/test/partial.jpg
cp "$DEDUP_PHOTO_DIR/Dune.jpg" data/test/partial.jpg # leak in the work tree only
expect_exit 0 git dedup check
expect_no_grep '^LEAK ' "$OUT"
expect_exit 0 git commit -m "clean staged, leak unstaged"
check_not "partial (clean staged) committed" test "$(head_rev)" = "$before"
check "the committed blob is the clean photo" \
    cmp -s "$DEDUP_PHOTO_DIR/Garden.jpg" <(git cat-file blob HEAD:data/test/partial.jpg)
git checkout -q -- data/test/partial.jpg

before=$(head_rev)
resized_copy Wood.jpg data/test/partial2.jpg # leaking version staged
git add data/test/partial2.jpg
photo LadyBird.jpg data/test/partial2.jpg # clean version in the work tree
expect_exit 1 git dedup check
expect_grep "$(near_leak_re data/test/partial2.jpg test data/train/Wood.jpg train)" "$OUT"
expect_exit 1 git commit -m "leak staged, clean unstaged"
expect_eq "$(head_rev)" "$before" "leak staged: HEAD unchanged"
expect_grep "$(near_leak_re data/test/partial2.jpg test data/train/Wood.jpg train)" "$BOTH"
# staging the clean work-tree version makes it pass
git add data/test/partial2.jpg
expect_exit 0 git commit -m "now clean"
check_not "clean partial2 committed" test "$(head_rev)" = "$before"

# --- intent-to-add (`git add -N`): git commits nothing for such an entry ---
# (the index holds the empty blob with the intent-to-add flag; it is not
# part of the commit, so it must be neither a leak nor "unreadable")
photo YellowFlower.jpg data/test/later.jpg
git add -N data/test/later.jpg
echo "notes" >>README
git add README
before=$(head_rev)
expect_exit 0 git dedup check
expect_no_grep '^UNREADABLE ' "$OUT"
expect_exit 0 git commit -m "README, with an intent-to-add image around"
check_not "commit with an intent-to-add image advanced HEAD" test "$(head_rev)" = "$before"
expect_eq "$(git ls-tree --name-only HEAD data/test/later.jpg)" "" "the intent-to-add image was not committed"
# an intent-to-add copy of a training photo is not a leak until it is added...
cp "$DEDUP_PHOTO_DIR/Dune.jpg" data/test/later.jpg
expect_exit 0 git dedup check
# ...and `git commit -a` adds it for real, so then it is
before=$(head_rev)
expect_exit 1 git commit -a -m "commit -a with the intent-to-add copy"
expect_eq "$(head_rev)" "$before" "commit -a of an intent-to-add copy refused"
expect_line "LEAK data/test/later.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$BOTH"
git rm -q --cached data/test/later.jpg
rm data/test/later.jpg

finish
