#!/usr/bin/env bash
# Repository layouts and tree entries that are not plain files: worktrees,
# core.hooksPath, a repository whose .git is a file (a submodule checkout),
# sparse checkouts (and the sparse index libgit2 cannot read), symbolic
# links in the staged tree (never followed on disk) and submodules in a split.
. "$(dirname "$0")/lib.sh"

# dataset NAME: a repository with a small committed dataset; cd into it
dataset() {
    new_repo "$1"
    photo Dune.jpg data/train/dune.jpg
    photo Aqua.jpg data/train/aqua.jpg
    photo Storm.jpg data/test/storm.jpg
    git add . && commit_quiet "dataset"
}
LEAK_LINE="LEAK data/test/copy.jpg [test] ~ data/train/dune.jpg [train]: exact bytes"

# --- a linked worktree: hooks and cache shared with the main worktree ---------
dataset wt
expect_exit 0 git dedup install
git worktree add -q -b side "$T/wt-side"
cd "$T/wt-side"
photo Dune.jpg data/test/copy.jpg
git add data
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"
before=$(head_rev)
expect_exit 1 git commit -m "leak from a worktree"
expect_eq "$(head_rev)" "$before" "the main worktree's hook refused the commit"
check "the cache lives in the common git dir" test -f "$T/wt/.git/dedup/cache.sqlite"
check "no cache in the worktree's own git dir" test ! -e "$T/wt/.git/worktrees/wt-side/dedup"

# --- core.hooksPath ---------------------------------------------------------------
dataset hookspath
git config core.hooksPath .githooks
expect_exit 0 git dedup install
check "hook written to core.hooksPath" test -x .githooks/pre-commit
photo Dune.jpg data/test/copy.jpg
git add data
expect_exit 1 git commit -m "leak"
expect_line "$LEAK_LINE" "$BOTH"

# --- a submodule checkout: .git is a file ----------------------------------------
dataset inner
new_repo super
git -c protocol.file.allow=always submodule add -q "$T/inner" datasets/inner
commit_quiet "add the dataset as a submodule"
cd datasets/inner
git config user.name "Dedup Test"
git config user.email "dedup-test@example.invalid"
check ".git is a file in the submodule checkout" test -f .git
photo Dune.jpg data/test/copy.jpg
git add data
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"
expect_exit 0 git dedup install
check "hook installed in the submodule's git dir" test -x "$T/super/.git/modules/datasets/inner/hooks/pre-commit"
expect_exit 1 git commit -m "leak in a submodule checkout"
expect_line "$LEAK_LINE" "$BOTH"

# --- submodules inside a split are skipped with a note ---------------------------
cd "$T/super"
mkdir -p data/train data/test
git -c protocol.file.allow=always submodule add -q "$T/inner" data/test/sub
photo Dune.jpg data/train/dune.jpg
git add . && commit_quiet "a submodule in test"
expect_exit 0 git dedup check --all
expect_contains "git-dedup: note: data/test/sub: a submodule in split test: skipped (git-dedup does not look inside submodules)" "$ERR"

# --- sparse checkout: images outside the cone are read from git ------------------
dataset sparse
git sparse-checkout set data/test
check "data/train is not checked out" test ! -e data/train/dune.jpg
photo Dune.jpg data/test/copy.jpg
git add data/test/copy.jpg
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"
# a sparse index (extension 'sdir') cannot be read by libgit2: exit 2 and the fix
git sparse-checkout set --sparse-index data/test
expect_exit 2 git dedup check
expect_contains "the index is a sparse index (extension 'sdir')" "$ERR"
expect_contains "turn it off with 'git sparse-checkout init --no-sparse-index'" "$ERR"
expect_exit 2 git dedup check --all
fix=$(sed -n "s/.*turn it off with '\\([^']*\\)'.*/\\1/p" "$ERR")
expect_eq "$fix" "git sparse-checkout init --no-sparse-index" "the message names the command"
$fix
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"
expect_eq "$(git sparse-checkout list)" "data/test" "the sparse checkout itself is unchanged"
check "data/train is still not checked out" test ! -e data/train/dune.jpg

# --- symbolic links: resolved in the tree, never on disk ------------------------
dataset links
ln -s ../train/dune.jpg data/test/link.jpg
git add data
expect_exit 1 git dedup check
expect_line "LEAK data/test/link.jpg [test] ~ data/train/dune.jpg [train]: symbolic link" "$OUT"
expect_exit 1 git dedup check --json
expect_contains '{"kind":"symlink","held_out":{"path":"data/test/link.jpg","split":"test"},"train":{"path":"data/train/dune.jpg","split":"train"},"transform":"identity","distance":0}' "$OUT"
git reset -q && rm data/test/link.jpg
# a training link to a held-out image leaks the other way
ln -s ../test/storm.jpg data/train/storm-link.jpg
git add data
expect_exit 1 git dedup check
expect_line "LEAK data/test/storm.jpg [test] ~ data/train/storm-link.jpg [train]: symbolic link" "$OUT"
git reset -q && rm data/train/storm-link.jpg
# a link to a file outside any split takes that file's bytes
photo Dune.jpg raw/dune-original.jpg
ln -s ../../raw/dune-original.jpg data/test/raw-link.jpg
git add raw data
expect_exit 1 git dedup check
expect_line "LEAK data/test/raw-link.jpg [test] ~ data/train/dune.jpg [train]: exact bytes" "$OUT"
git reset -q && rm -r raw data/test/raw-link.jpg
# a link out of the repository, or to a file only on disk, is not followed
ln -s "$DEDUP_PHOTO_DIR/Dune.jpg" data/test/abs-link.jpg
photo Dune.jpg data/untracked.jpg
ln -s ../untracked.jpg data/test/disk-link.jpg
ln -s ../../../outside.jpg data/test/up-link.jpg
git add data/test
expect_exit 3 git dedup check
expect_grep "^UNREADABLE data/test/abs-link\.jpg: symbolic link to '.*Dune\.jpg', outside the repository: not followed$" "$OUT"
expect_line "UNREADABLE data/test/disk-link.jpg: symbolic link to 'data/untracked.jpg', which is not in the tree" "$OUT"
expect_line "UNREADABLE data/test/up-link.jpg: symbolic link to '../../../outside.jpg', outside the repository: not followed" "$OUT"
expect_no_grep '^LEAK ' "$OUT"
git reset -q && rm data/test/*-link.jpg data/untracked.jpg
# a loop
ln -s b.jpg data/test/a.jpg
ln -s a.jpg data/test/b.jpg
git add data/test
expect_exit 3 git dedup check
expect_grep '^UNREADABLE data/test/a\.jpg: symbolic link: more than 16 links' "$OUT"

finish
