#!/usr/bin/env bash
# `git dedup install` / `uninstall`: idempotence, chaining a foreign hook,
# core.hooksPath, a missing git-dedup, merges and linked worktrees.
. "$(dirname "$0")/lib.sh"

HOOK_SRC="$DEDUP_SOURCE_DIR/hook/pre-commit"

# snapshot DIR: names, modes and contents of the files in a hooks dir.
snapshot() {
    (cd "$1" && for f in $(ls -A | LC_ALL=C sort); do
        printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(git hash-object "$f")"
    done)
}

# ============================================================================
new_repo plain
expect_exit 0 git dedup install
expect_line "git-dedup: pre-commit hook installed at $REPO/.git/hooks/pre-commit" "$OUT"
expect_line "git-dedup: pre-merge-commit hook installed at $REPO/.git/hooks/pre-merge-commit" "$OUT"
for h in pre-commit pre-merge-commit; do
    check "$h is the shipped hook, byte for byte" cmp -s "$HOOK_SRC" .git/hooks/$h
    check "$h is executable" test -x .git/hooks/$h
done
first=$(snapshot .git/hooks)
expect_exit 0 git dedup install
expect_eq "$(snapshot .git/hooks)" "$first" "second install: same files, same modes, same contents"
expect_eq "$(ls .git/hooks | grep -c 'before-git-dedup' || true)" 0 "no chained copy of our own hook"
expect_no_grep 'kept your existing' "$OUT"
expect_eq "$(ls .git/hooks | grep -v '\.sample$' | grep -c '^pre-commit')" 1 "one pre-commit hook file"
# it works
photo Dune.jpg data/train/Dune.jpg
git add . && expect_exit 0 git commit -m train
resized_copy Dune.jpg data/test/copy.jpg
git add . && before=$(head_rev)
expect_exit 1 git commit -m leak
expect_eq "$(head_rev)" "$before" "installed hook refuses the leak"
git rm -q --cached data/test/copy.jpg
# uninstall, twice
expect_exit 0 git dedup uninstall
check "pre-commit removed" test ! -e .git/hooks/pre-commit
check "pre-merge-commit removed" test ! -e .git/hooks/pre-merge-commit
expect_exit 0 git dedup uninstall
git add data/test/copy.jpg
expect_exit 0 git commit -m "no hook, no check"
git reset -q --hard HEAD~1

# --- hooks directory missing (git init with an empty template) -------------
REPO="$T/notemplate"
git init -q -b main --template= "$REPO"
cd "$REPO"
check "no hooks dir to start with" test ! -e .git/hooks
expect_exit 0 git dedup install
check "hooks dir created, pre-commit installed" cmp -s "$HOOK_SRC" .git/hooks/pre-commit

# ============================================================================
# A foreign pre-commit hook is kept, chained (runs first) and restored.
new_repo foreign
LOG="$T/hook.log"
cat >.git/hooks/pre-commit <<EOF
#!/bin/sh
# someone else's hook
echo foreign >>"$LOG"
exit \${FOREIGN_EXIT:-0}
EOF
chmod 755 .git/hooks/pre-commit
cp -p .git/hooks/pre-commit "$T/foreign.orig"
expect_exit 0 git dedup install
expect_grep 'kept your existing pre-commit hook as .*/\.git/hooks/pre-commit\.before-git-dedup' "$OUT"
check "foreign hook kept byte for byte" cmp -s "$T/foreign.orig" .git/hooks/pre-commit.before-git-dedup
check "kept hook still executable" test -x .git/hooks/pre-commit.before-git-dedup
check "pre-commit is now ours" cmp -s "$HOOK_SRC" .git/hooks/pre-commit
check "no pre-merge-commit.before-git-dedup (there was none)" test ! -e .git/hooks/pre-merge-commit.before-git-dedup
# reinstall: the foreign hook stays where it is, ours is not chained to itself
expect_exit 0 git dedup install
check "reinstall: chained hook is still the foreign one" cmp -s "$T/foreign.orig" .git/hooks/pre-commit.before-git-dedup
check "reinstall: no double chain" test ! -e .git/hooks/pre-commit.before-git-dedup.before-git-dedup

# order: a shim git-dedup first on PATH logs when it runs, then runs the real one
mkdir -p "$T/shim"
cat >"$T/shim/git-dedup" <<EOF
#!/bin/sh
echo git-dedup >>"$LOG"
exec "$DEDUP_BIN_DIR/git-dedup" "\$@"
EOF
chmod 755 "$T/shim/git-dedup"
photo Dune.jpg data/train/Dune.jpg
git add .
: >"$LOG"
expect_exit 0 env PATH="$T/shim:$PATH" git commit -m train
expect_eq "$(tr '\n' ' ' <"$LOG")" "foreign git-dedup " "foreign hook ran first, then git-dedup"
# a leak: both run, the commit is refused
photo Dune.jpg data/val/copy.jpg
git add . && before=$(head_rev)
: >"$LOG"
expect_exit 1 env PATH="$T/shim:$PATH" git commit -m leak
expect_eq "$(head_rev)" "$before" "leak refused with a chained hook"
expect_eq "$(tr '\n' ' ' <"$LOG")" "foreign git-dedup " "both hooks ran on the refused commit"
expect_line "LEAK data/val/copy.jpg [val] ~ data/train/Dune.jpg [train]: exact bytes" "$BOTH"
git rm -q --cached data/val/copy.jpg && rm data/val/copy.jpg
# a failing foreign hook blocks a clean commit, and git-dedup does not run
photo Storm.jpg data/test/Storm.jpg
git add . && before=$(head_rev)
: >"$LOG"
expect_exit 1 env FOREIGN_EXIT=7 PATH="$T/shim:$PATH" git commit -m clean
expect_eq "$(head_rev)" "$before" "failing foreign hook blocks the commit"
expect_eq "$(tr '\n' ' ' <"$LOG")" "foreign " "git-dedup did not run after the foreign hook failed"
expect_exit 7 env FOREIGN_EXIT=7 .git/hooks/pre-commit
expect_exit 0 git commit -m clean
# uninstall restores it byte for byte, mode included
expect_exit 0 git dedup uninstall
expect_grep 'restored' "$OUT"
check "foreign hook restored byte for byte" cmp -s "$T/foreign.orig" .git/hooks/pre-commit
expect_eq "$(stat -c %a .git/hooks/pre-commit)" 755 "restored hook keeps its mode"
check "no leftover chained file" test ! -e .git/hooks/pre-commit.before-git-dedup
check "pre-merge-commit removed" test ! -e .git/hooks/pre-merge-commit
# uninstall again leaves the foreign hook alone
expect_exit 0 git dedup uninstall
check "second uninstall leaves the foreign hook" cmp -s "$T/foreign.orig" .git/hooks/pre-commit
# both names taken by foreign files: refuse, touch nothing
cp "$T/foreign.orig" .git/hooks/pre-commit.before-git-dedup
expect_exit 2 git dedup install
expect_grep 'pre-commit\.before-git-dedup' "$ERR"
check "pre-commit untouched" cmp -s "$T/foreign.orig" .git/hooks/pre-commit
rm .git/hooks/pre-commit.before-git-dedup

# ============================================================================
# core.hooksPath: relative (to the top of the work tree), absolute, global.
new_repo hookspath
git config core.hooksPath .githooks
mkdir -p data/train
cd data/train # from a subdirectory (no subshell: assertions count here)
expect_exit 0 git dedup install
cd ../..
check "relative hooksPath: installed at the top" cmp -s "$HOOK_SRC" .githooks/pre-commit
check "relative hooksPath: .githooks/pre-merge-commit" test -x .githooks/pre-merge-commit
check "relative hooksPath: not under data/train" test ! -e data/train/.githooks
check "relative hooksPath: not in .git/hooks" test ! -e .git/hooks/pre-commit
photo Dune.jpg data/train/Dune.jpg
git add data && commit_quiet train
photo Dune.jpg data/test/copy.jpg
git add data && before=$(head_rev)
expect_exit 1 git commit -m leak
expect_eq "$(head_rev)" "$before" "relative hooksPath hook refuses the leak"
expect_line "LEAK data/test/copy.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$BOTH"
expect_exit 0 git dedup uninstall
check "relative hooksPath: uninstalled" test ! -e .githooks/pre-commit
git config core.hooksPath "$T/abs-hooks"
expect_exit 0 git dedup install
check "absolute hooksPath: installed (dir created)" cmp -s "$HOOK_SRC" "$T/abs-hooks/pre-commit"
expect_exit 1 git commit -m leak
expect_eq "$(head_rev)" "$before" "absolute hooksPath hook refuses the leak"
expect_exit 0 git dedup uninstall
git config --unset core.hooksPath
git config --global core.hooksPath "$T/global-hooks"
expect_exit 0 git dedup install
check "global hooksPath honoured" cmp -s "$HOOK_SRC" "$T/global-hooks/pre-commit"
expect_exit 1 git commit -m leak
expect_eq "$(head_rev)" "$before" "global hooksPath hook refuses the leak"
expect_exit 0 git dedup uninstall
git config --global --unset core.hooksPath
check "no hook left in .git/hooks" test ! -e .git/hooks/pre-commit

# ============================================================================
# git-dedup missing from PATH: the hook fails the commit and says why.
new_repo nopath
expect_exit 0 git dedup install
BARE_PATH=/usr/bin:/bin
# git prepends its exec-path when running hooks: check that one too
check_not "git-dedup is not on the reduced PATH" \
    env PATH="$(git --exec-path):$BARE_PATH" sh -c 'command -v git-dedup'
check "git is on the reduced PATH" env PATH="$BARE_PATH" sh -c 'command -v git'
photo Storm.jpg data/test/Storm.jpg # clean: the failure is about the program, not a leak
git add data
expect_exit 1 env PATH="$BARE_PATH" git commit -m clean
expect_eq "$(head_rev)" unborn "no commit without git-dedup"
expect_contains "git-dedup: the pre-commit hook needs the git-dedup program, but it is not on PATH." "$ERR"
expect_exit 0 git commit -m clean

# ============================================================================
# A merge that brings a leak is refused by pre-merge-commit.
new_repo merge
expect_exit 0 git dedup install
echo base >README
git add README && expect_exit 0 git commit -m base
git checkout -q -b feature
resized_copy Dune.jpg data/test/copy.jpg
git add data && expect_exit 0 git commit -m "test copy (no train image on this branch)"
git checkout -q -b feature-clean main
photo Storm.jpg data/test/Storm.jpg
git add data && expect_exit 0 git commit -m "clean test image"
git checkout -q main
photo Dune.jpg data/train/Dune.jpg
git add data && expect_exit 0 git commit -m "train image"
before=$(head_rev)
expect_exit 1 git merge --no-ff -m "merge feature" feature
expect_eq "$(head_rev)" "$before" "leaking merge refused: HEAD unchanged"
expect_grep "$(near_leak_re data/test/copy.jpg test data/train/Dune.jpg train)" "$BOTH"
check "the merge is left in progress" test -f .git/MERGE_HEAD
# finishing it with `git commit` runs pre-commit, which refuses it too
expect_exit 1 git commit -m "merge feature"
expect_eq "$(head_rev)" "$before" "git commit of the merge refused too"
git merge --abort
expect_exit 0 git merge --no-ff -m "merge clean" feature-clean
check "clean merge committed" test "$(git rev-parse HEAD^2)" = "$(git rev-parse feature-clean)"

# ============================================================================
# Linked worktree: the hook runs there, the cache lives in the common dir.
new_repo wtmain
expect_exit 0 git dedup install
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
git add data && expect_exit 0 git commit -m train
rm -rf .git/dedup
git worktree add -q -b wt "$T/wt"
cd "$T/wt"
resized_copy Dune.jpg data/test/copy.jpg
git add data
before=$(head_rev)
expect_exit 1 git commit -m "leak from worktree"
expect_eq "$(head_rev)" "$before" "worktree: leak refused"
expect_grep "$(near_leak_re data/test/copy.jpg test data/train/Dune.jpg train)" "$BOTH"
git rm -q --cached data/test/copy.jpg && rm data/test/copy.jpg
photo Storm.jpg data/test/Storm.jpg
git add data
expect_exit 0 git commit -m "clean from worktree"
check "worktree: clean commit on branch wt" test "$(git rev-parse wt)" != "$before"
# commit -a from the worktree (git's temporary index lives under .git/worktrees/wt)
cp "$DEDUP_PHOTO_DIR/Aqua.jpg" data/test/Storm.jpg
before=$(head_rev)
expect_exit 1 git commit -a -m "commit -a leak from worktree"
expect_eq "$(head_rev)" "$before" "worktree: commit -a leak refused"
expect_line "LEAK data/test/Storm.jpg [test] ~ data/train/Aqua.jpg [train]: exact bytes" "$BOTH"
git checkout -q -- data/test/Storm.jpg
check "cache in the common dir" test -f "$T/wtmain/.git/dedup/cache.sqlite"
check "no cache under .git/worktrees" test -z "$(find "$T/wtmain/.git/worktrees" -name 'dedup' -o -name 'cache.sqlite')"
check "no cache in the worktree" test ! -e "$T/wt/.git/dedup"
if command -v sqlite3 >/dev/null 2>&1; then
    rows=$(sqlite3 "$T/wtmain/.git/dedup/cache.sqlite" 'SELECT count(*) FROM features')
    check "the cache holds the decoded images ($rows rows)" test "$rows" -ge 3
fi

finish
