#!/usr/bin/env bash
# hook/pre-receive on a local bare repository, driven by real `git push`es:
# a clean push lands, a push that leaks is refused (its objects still in
# git's quarantine while we check them), a new branch is checked whole,
# deletions pass, and one bad ref in a push refuses the push.
. "$(dirname "$0")/lib.sh"

git init -q --bare -b main "$T/server.git"
cp "$DEDUP_SOURCE_DIR/hook/pre-receive" "$T/server.git/hooks/pre-receive"
chmod +x "$T/server.git/hooks/pre-receive"
server_rev() { git --git-dir="$T/server.git" rev-parse -q --verify "$1" 2>/dev/null || echo none; }

new_repo work
git remote add origin "$T/server.git"
photo Dune.jpg data/train/dune.jpg
photo Aqua.jpg data/train/aqua.jpg
photo Storm.jpg data/test/storm.jpg
git add . && commit_quiet "dataset"

# --- a new branch (all-zero old id): the whole dataset, clean ---------------
expect_exit 0 git push -q origin main
expect_eq "$(server_rev main)" "$(git rev-parse HEAD)" "clean push landed"

# --- an update that leaks is refused; the server keeps its old tip -----------
resized_copy Dune.jpg data/test/dune-small.jpg
git add . && commit_quiet "leak"
expect_exit 1 git push origin main
expect_grep "remote: $(near_leak_re data/test/dune-small.jpg test data/train/dune.jpg train | sed 's/^\^//; s/\$$//')" "$BOTH"
expect_contains "remote: git-dedup: refused the update of refs/heads/main" "$BOTH"
expect_eq "$(server_rev main)" "$(git rev-parse HEAD~1)" "refused push: server main unchanged"
check_not "the refused commit is not in the server's object store" \
    git --git-dir="$T/server.git" cat-file -e "$(git rev-parse HEAD)"

# --- the same leak pushed as a new branch is refused too ---------------------
expect_exit 1 git push origin HEAD:refs/heads/topic
expect_eq "$(server_rev topic)" none "refused new branch was not created"

# --- a manifest-only move, pushed ---------------------------------------------
git reset -q --hard HEAD~1
printf 'path,split\ndata/train/aqua.jpg,test\n' >splits.csv
printf '[dedup]\n\tmanifest = splits.csv\n' >.gitdedup
photo Aqua.jpg data/train/aqua-copy.jpg
git add . && commit_quiet "aqua moved to test by the manifest; a copy stays in train"
expect_exit 1 git push origin main
expect_contains "remote: LEAK data/train/aqua.jpg [test] ~ data/train/aqua-copy.jpg [train]: exact bytes" "$BOTH"
git reset -q --hard HEAD~1

# --- clean updates and new branches land; deletions pass ---------------------
photo Garden.jpg data/test/garden.jpg
git add . && commit_quiet "clean test image"
expect_exit 0 git push -q origin main HEAD:refs/heads/clean
expect_eq "$(server_rev main)" "$(git rev-parse HEAD)" "clean update landed"
expect_eq "$(server_rev clean)" "$(git rev-parse HEAD)" "clean new branch landed"
expect_exit 0 git push -q origin :refs/heads/clean
expect_eq "$(server_rev clean)" none "deletion passed"
# a tag pointing at a commit is checked like a branch
expect_exit 0 git push -q origin HEAD:refs/tags/v1

# --- one bad ref refuses the whole (atomic) push ------------------------------
git checkout -q -b bad
photo Storm.jpg data/train/storm-copy.jpg
git add . && commit_quiet "train copy of a test image"
git checkout -q main
photo YellowFlower.jpg data/test/flower.jpg
git add . && commit_quiet "another clean image"
expect_exit 1 git push origin main bad
expect_contains "remote: LEAK data/test/storm.jpg [test] ~ data/train/storm-copy.jpg [train]: exact bytes" "$BOTH"
expect_eq "$(server_rev bad)" none "the bad branch was refused"
expect_eq "$(server_rev main)" "$(git rev-parse HEAD~1)" "pre-receive refuses every ref of the push"

finish
