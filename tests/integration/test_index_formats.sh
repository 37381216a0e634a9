#!/usr/bin/env bash
# The index in the formats git writes when asked to: index v4 and the
# untracked cache (feature.manyFiles), and the split index (core.splitIndex).
# Whatever git can commit, `git dedup check` must be able to check; at the
# very least a commit that stages no image must not be refused.
. "$(dirname "$0")/lib.sh"

# setup_leak CONFIG...: repo with a train image committed and a byte copy staged in test/
setup_leak() {
    new_repo "idx$((++n))"
    while [ $# -gt 0 ]; do
        git config "$1" "$2"
        shift 2
    done
    photo Dune.jpg data/train/Dune.jpg
    git add data && commit_quiet train
    photo Dune.jpg data/test/copy.jpg
    git add data
    git status --porcelain >/dev/null # let git rewrite the index in its configured form
}
n=0
LEAK_LINE="LEAK data/test/copy.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes"

setup_leak feature.manyFiles true
expect_eq "$(git config index.version)" "" "feature.manyFiles leaves index.version unset"
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"

setup_leak index.version 4
check "the index is version 4" test "$(od -An -tu1 -j7 -N1 .git/index | tr -d ' ')" = 4
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"

setup_leak core.untrackedCache true
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"

# split index: .git/index holds a 'link' extension naming .git/sharedindex.*
setup_leak core.splitIndex true
git update-index --split-index
check "a shared index file exists" sh -c 'ls .git/sharedindex.* >/dev/null'
expect_eq "$(git ls-files -s data/test/copy.jpg | cut -d' ' -f2)" \
    "$(git hash-object "$DEDUP_PHOTO_DIR/Dune.jpg")" "git reads the split index"
expect_exit 1 git dedup check
expect_line "$LEAK_LINE" "$OUT"
# a README-only commit must pass whatever the index format
git rm -q --cached data/test/copy.jpg && rm data/test/copy.jpg
echo readme >README
git add README
expect_exit 0 git dedup check
expect_exit 0 git dedup install
before=$(head_rev)
expect_exit 0 git commit -m "README only, split index"
check_not "README-only commit with a split index happened" test "$(head_rev)" = "$before"

finish
