#!/usr/bin/env bash
# Config given on git's command line: `git -c key=value dedup check` and
# `git -c key=value commit` (git passes it to subcommands and hooks in
# GIT_CONFIG_PARAMETERS), and GIT_CONFIG_COUNT/KEY_n/VALUE_n (git >= 2.31).
# git itself honours both for every command it runs; `git dedup` should too.
. "$(dirname "$0")/lib.sh"

new_repo cconfig
photo Dune.jpg data/train/Dune.jpg
git add . && commit_quiet "train"

# sanity: git itself sees the -c value
expect_eq "$(git -c dedup.threshold=7 config dedup.threshold)" 7 "git -c reaches git config"

# --- dedup.threshold --------------------------------------------------------
# A lossy copy a few bits away; overlap search (which sees any whole-image
# copy) is off so that only the threshold decides.
git config dedup.overlap false
lossy_copy Dune.jpg data/test/copy.jpg
git add data
expect_exit 1 git dedup check # default threshold 31: leak
expect_exit 0 git -c dedup.threshold=0 dedup check
expect_exit 2 git -c dedup.threshold=abc dedup check
expect_grep 'dedup\.threshold' "$ERR"
expect_exit 0 env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=dedup.threshold GIT_CONFIG_VALUE_0=0 \
    git dedup check
# the repository value is overridden by -c, as in git
git config dedup.threshold 0
expect_exit 0 git dedup check
expect_exit 1 git -c dedup.threshold=31 dedup check
git config --unset dedup.threshold
git rm -q --cached data/test/copy.jpg && rm data/test/copy.jpg

# --- core.quotePath ---------------------------------------------------------
photo Dune.jpg "data/test/photo é 1.jpg"
git add data
expect_exit 1 git -c core.quotePath=false dedup check
expect_eq "$(git -c core.quotePath=false diff --cached --name-only)" "data/test/photo é 1.jpg" \
    "git -c core.quotePath=false: git prints the name raw"
expect_line "LEAK data/test/photo é 1.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
git rm -q --cached "data/test/photo é 1.jpg" && rm "data/test/photo é 1.jpg"

# --- dedup.unreadable, through a hook -----------------------------------------
expect_exit 0 git dedup install
mkdir -p data/val
echo "not an image" >data/val/x.jpg
git add data
before=$(head_rev)
expect_exit 1 git commit -m "unreadable, refused"
expect_eq "$(head_rev)" "$before" "unreadable image refused by default"
expect_exit 0 git -c dedup.unreadable=warn commit -m "unreadable, allowed for this commit"
check_not "git -c dedup.unreadable=warn commit: committed" test "$(head_rev)" = "$before"

finish
