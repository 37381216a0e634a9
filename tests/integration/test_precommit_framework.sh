#!/usr/bin/env bash
# The shipped .pre-commit-hooks.yaml, driven by the real pre-commit client:
# a hooks repository holding it, a dataset repository using it by path.
. "$(dirname "$0")/lib.sh"

if ! command -v pre-commit >/dev/null 2>&1; then
    fail "the pre-commit client is not installed (apt-get install pre-commit); this test needs it"
    finish
fi
export PRE_COMMIT_HOME="$T/pre-commit-home"
export PRE_COMMIT_COLOR=never
echo "# $(pre-commit --version)"

# --- the hooks repository ---------------------------------------------------
new_repo hooks-repo
cp "$DEDUP_SOURCE_DIR/.pre-commit-hooks.yaml" .
git add .pre-commit-hooks.yaml && commit_quiet "hooks"
HOOKS_REPO="$REPO"
HOOKS_REV=$(git rev-parse HEAD)
expect_exit 0 pre-commit validate-manifest .pre-commit-hooks.yaml

# --- the dataset repository -------------------------------------------------
new_repo dataset
cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $HOOKS_REPO
    rev: $HOOKS_REV
    hooks:
      - id: git-dedup
EOF
expect_exit 0 pre-commit validate-config .pre-commit-config.yaml
expect_exit 0 pre-commit install -t pre-commit -t pre-merge-commit
check "pre-commit's hook is installed" test -x .git/hooks/pre-commit
check "pre-commit's merge hook is installed" test -x .git/hooks/pre-merge-commit
check "it is pre-commit's hook, not git-dedup's" grep -q 'pre-commit' .git/hooks/pre-commit
check_not "not git-dedup's own hook" grep -q 'managed by git-dedup' .git/hooks/pre-commit

photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
git add .pre-commit-config.yaml data
expect_exit 0 git commit -m "train split"
check "train commit happened" git rev-parse -q --verify HEAD
expect_grep '^git-dedup \(held-out images must not copy training images\)\.+Passed$' "$BOTH"

# a leaking commit is refused
resized_copy Dune.jpg data/test/copy.jpg
git add data
before=$(head_rev)
expect_exit 1 git commit -m leak
expect_eq "$(head_rev)" "$before" "leak refused through pre-commit"
expect_grep '^git-dedup \(held-out images must not copy training images\)\.+Failed$' "$BOTH"
expect_grep "$(near_leak_re data/test/copy.jpg test data/train/Dune.jpg train)" "$BOTH"
expect_contains '- exit code: 1' "$BOTH"
git rm -q --cached data/test/copy.jpg && rm data/test/copy.jpg

# a clean commit passes
photo Storm.jpg data/test/Storm.jpg
git add data
expect_exit 0 git commit -m clean
check_not "clean commit advanced HEAD" test "$(head_rev)" = "$before"
expect_grep '^git-dedup \(held-out images must not copy training images\)\.+Passed$' "$BOTH"

# always_run: a commit of no image still runs it (and passes at once)
echo readme >README
git add README
expect_exit 0 git commit -m readme
expect_grep '^git-dedup \(held-out images must not copy training images\)\.+Passed$' "$BOTH"

# pre-commit runs hooks with unstaged changes stashed: a leak only in the
# work tree does not block, a staged leak does
cp "$DEDUP_PHOTO_DIR/Aqua.jpg" data/test/Storm.jpg
echo more >>README
git add README
expect_exit 0 git commit -m "readme again"
check "unstaged leak left in the work tree" cmp -s "$DEDUP_PHOTO_DIR/Aqua.jpg" data/test/Storm.jpg
before=$(head_rev)
expect_exit 1 git commit -a -m "commit -a leak"
expect_eq "$(head_rev)" "$before" "commit -a leak refused through pre-commit"
expect_line "LEAK data/test/Storm.jpg [test] ~ data/train/Aqua.jpg [train]: exact bytes" "$BOTH"
git checkout -q -- data/test/Storm.jpg

# the merge-commit stage: a branch brings a test copy into a main with the train image
git checkout -q -b feature HEAD~3 # "train split": no Storm, no README
photo Wood.jpg data/val/wood.jpg
git add data && expect_exit 0 git commit -m "val image (no train copy here)"
git checkout -q main
photo Wood.jpg data/train/Wood.jpg
git add data && expect_exit 0 git commit -m "train Wood"
before=$(head_rev)
expect_exit 1 git merge --no-ff -m "merge feature" feature
expect_eq "$(head_rev)" "$before" "leaking merge refused through pre-commit's pre-merge-commit"
expect_line "LEAK data/val/wood.jpg [val] ~ data/train/Wood.jpg [train]: exact bytes" "$BOTH"
git merge --abort

# `pre-commit run` by hand, as CI would
resized_copy Aqua.jpg data/val/aqua.jpg
git add data
expect_exit 1 pre-commit run --hook-stage commit git-dedup
expect_grep "$(near_leak_re data/val/aqua.jpg val data/train/Aqua.jpg train)" "$BOTH"
git rm -q --cached data/val/aqua.jpg && rm data/val/aqua.jpg
check "nothing outside the scratch dir: PRE_COMMIT_HOME used" test -d "$PRE_COMMIT_HOME"

finish
