# lib.sh - shared helpers for the integration tests (sourced, not run).
#
# Each test script does:
#     . "$(dirname "$0")/lib.sh"
#     new_repo repo            # fresh repository, cd into it
#     ...
#     expect_exit 1 git dedup check
#     expect_line 'LEAK a [test] ~ b [train]: exact bytes' "$OUT"
#     finish
#
# Environment (set by ctest, see tests/CMakeLists.txt): DEDUP_BIN_DIR,
# DEDUP_SOURCE_DIR, DEDUP_PHOTO_DIR, DEDUP_TEST_TMP.  The scripts never read
# the machine's git config and never touch anything outside their temp dir.

set -eu
set -o pipefail

: "${DEDUP_BIN_DIR:?DEDUP_BIN_DIR must name the directory of the built git-dedup}"
: "${DEDUP_SOURCE_DIR:?DEDUP_SOURCE_DIR must name the source tree}"
: "${DEDUP_PHOTO_DIR:=/usr/share/backgrounds/mate/nature}"
: "${DEDUP_TEST_TMP:?DEDUP_TEST_TMP must name a scratch directory}"

TEST_NAME=$(basename "$0" .sh)

if [ ! -x "$DEDUP_BIN_DIR/git-dedup" ]; then
    echo "FATAL: $DEDUP_BIN_DIR/git-dedup is missing or not executable (build first)" >&2
    exit 1
fi
if [ ! -r "$DEDUP_PHOTO_DIR/Dune.jpg" ]; then
    echo "FATAL: no photos in $DEDUP_PHOTO_DIR (install mate-backgrounds)" >&2
    exit 1
fi
for tool in git djpeg cjpeg jpegtran cmp; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FATAL: $tool is required" >&2; exit 1; }
done

mkdir -p "$DEDUP_TEST_TMP"
T=$(cd "$(mktemp -d "$DEDUP_TEST_TMP/$TEST_NAME.XXXXXX")" && pwd -P)

# --- isolation from the machine and from any git process that runs us -----
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_NAMESPACE GIT_PREFIX GIT_EXEC_PATH \
    GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM \
    GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
    GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_EDITOR GIT_SEQUENCE_EDITOR \
    XDG_CONFIG_HOME PRE_COMMIT PRE_COMMIT_HOME PRE_COMMIT_ALLOW_NO_CONFIG SKIP 2>/dev/null || true
export GIT_CONFIG_NOSYSTEM=1
export HOME="$T/home"
export XDG_CONFIG_HOME="$HOME/.config"
export GIT_EDITOR=true GIT_MERGE_AUTOEDIT=no GIT_TERMINAL_PROMPT=0
export LC_ALL=C
# The temp dir lives inside the source tree's work tree (build/): never let
# repository discovery climb out of it.
export GIT_CEILING_DIRECTORIES="$T"
mkdir -p "$HOME"
export PATH="$DEDUP_BIN_DIR:$PATH"

PASS=0
FAIL=0
OUT="$T/out"   # stdout of the last expect_exit
ERR="$T/err"   # stderr of the last expect_exit
BOTH="$T/both" # stdout then stderr of the last expect_exit
: >"$OUT"
: >"$ERR"
: >"$BOTH"
_finished=0

_on_exit() {
    rc=$?
    if [ "$_finished" = 0 ]; then
        echo "ABORTED: $TEST_NAME stopped unexpectedly (exit $rc) after $PASS passed, $FAIL failed;" \
            "the scratch dir $T is kept" >&2
        [ "$rc" != 0 ] || exit 1
    fi
}
trap _on_exit EXIT

pass() {
    PASS=$((PASS + 1))
    echo "ok $((PASS + FAIL)) - $*"
}

fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL $((PASS + FAIL)) - $*"
}

_show_output() {
    echo "  --- stdout ---"
    sed 's/^/  | /' "$OUT"
    echo "  --- stderr ---"
    sed 's/^/  | /' "$ERR"
}

# expect_exit N cmd...: run cmd, stdout to $OUT, stderr to $ERR (both to $BOTH),
# and check its exit status is N.
expect_exit() {
    local want=$1
    shift
    local got=0
    "$@" >"$OUT" 2>"$ERR" || got=$?
    cat "$OUT" "$ERR" >"$BOTH"
    if [ "$got" = "$want" ]; then
        pass "exit $want: $*"
    else
        fail "exit $got, wanted $want: $*"
        _show_output
    fi
}

# expect_grep ERE file: some line of file matches the extended regex.
expect_grep() {
    if grep -Eq -- "$1" "$2"; then
        pass "$(basename "$2") matches /$1/"
    else
        fail "$(basename "$2") does not match /$1/"
        sed 's/^/  | /' "$2"
    fi
}

# expect_no_grep ERE file: no line of file matches.
expect_no_grep() {
    if grep -Eq -- "$1" "$2"; then
        fail "$(basename "$2") unexpectedly matches /$1/"
        sed 's/^/  | /' "$2"
    else
        pass "$(basename "$2") does not match /$1/"
    fi
}

# expect_line TEXT file: some line of file is exactly TEXT.
expect_line() {
    if grep -Fxq -- "$1" "$2"; then
        pass "$(basename "$2") has line: $1"
    else
        fail "$(basename "$2") has no line: $1"
        sed 's/^/  | /' "$2"
    fi
}

# expect_contains TEXT file: file contains TEXT (fixed string).
expect_contains() {
    if grep -Fq -- "$1" "$2"; then
        pass "$(basename "$2") contains: $1"
    else
        fail "$(basename "$2") does not contain: $1"
        sed 's/^/  | /' "$2"
    fi
}

# expect_count N ERE file: exactly N lines match.
expect_count() {
    local got
    got=$(grep -Ec -- "$2" "$3" || true)
    if [ "$got" = "$1" ]; then
        pass "$(basename "$3"): $1 line(s) match /$2/"
    else
        fail "$(basename "$3"): $got line(s) match /$2/, wanted $1"
        sed 's/^/  | /' "$3"
    fi
}

# expect_eq ACTUAL EXPECTED DESCRIPTION
expect_eq() {
    if [ "$1" = "$2" ]; then
        pass "$3"
    else
        fail "$3: got '$1', wanted '$2'"
    fi
}

# check DESCRIPTION cmd...: cmd succeeds (its output is discarded).
check() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        pass "$what"
    else
        fail "$what ($* failed)"
    fi
}

# check_not DESCRIPTION cmd...: cmd fails.
check_not() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        fail "$what ($* succeeded)"
    else
        pass "$what"
    fi
}

# Print the summary; exit non-zero on any failure; remove the scratch dir on success.
finish() {
    _finished=1
    cd /
    echo "$TEST_NAME: $PASS passed, $FAIL failed"
    if [ "$FAIL" -ne 0 ]; then
        echo "scratch dir kept: $T"
        exit 1
    fi
    chmod -R u+w "$T" 2>/dev/null || true
    rm -rf "$T"
    exit 0
}

# --- repositories -----------------------------------------------------------

# new_repo NAME: a fresh repository $T/NAME with a local identity; cd into it.
new_repo() {
    REPO="$T/$1"
    git init -q -b main "$REPO"
    cd "$REPO"
    git config user.name "Dedup Test"
    git config user.email "dedup-test@example.invalid"
    git config commit.gpgsign false
}

# head_rev: the commit at HEAD, or "unborn".
head_rev() {
    git rev-parse -q --verify HEAD 2>/dev/null || echo unborn
}

# commit_quiet MESSAGE: commit what is staged without running hooks (setup only).
commit_quiet() {
    git commit -q --no-verify -m "$1"
}

# --- images -----------------------------------------------------------------

# photo NAME DEST: copy a real photo (e.g. Dune.jpg) to DEST, creating dirs.
photo() {
    mkdir -p "$(dirname "$2")"
    cp "$DEDUP_PHOTO_DIR/$1" "$2"
}

# resized_copy NAME DEST: a half-size, re-encoded (quality 70) copy of a photo.
resized_copy() {
    mkdir -p "$(dirname "$2")"
    djpeg -scale 1/2 "$DEDUP_PHOTO_DIR/$1" | cjpeg -quality 70 >"$2"
}

# lossy_copy NAME DEST: a quarter-size copy at JPEG quality 15, a few bits
# (14 for Dune.jpg) away from the original's perceptual hash.
lossy_copy() {
    mkdir -p "$(dirname "$2")"
    djpeg -scale 1/4 "$DEDUP_PHOTO_DIR/$1" | cjpeg -quality 15 >"$2"
}

# rotated_copy NAME DEST / flipped_copy NAME DEST: lossless transforms.
rotated_copy() {
    mkdir -p "$(dirname "$2")"
    jpegtran -rotate 90 "$DEDUP_PHOTO_DIR/$1" >"$2"
}
flipped_copy() {
    mkdir -p "$(dirname "$2")"
    jpegtran -flip horizontal "$DEDUP_PHOTO_DIR/$1" >"$2"
}

# ERE-escape a fixed string.
re_escape() {
    printf '%s' "$1" | sed 's/[][\.*^$()+?{}|]/\\&/g'
}

# near_leak_re HELD SPLIT TRAIN SPLIT [TRANSFORM]: the regex of a LEAK line for
# a near duplicate, with the distance left open (0..31, under the default
# threshold): it depends on the hash, not on the contract.  Paths are given
# as printed (quoted if git would quote them) and escaped here.
near_leak_re() {
    local xf=""
    [ $# -lt 5 ] || xf=" \\($5\\)"
    printf '^LEAK %s \\[%s\\] ~ %s \\[%s\\]: near duplicate%s, distance ([0-9]|[12][0-9]|3[01]) of 256$' \
        "$(re_escape "$1")" "$2" "$(re_escape "$3")" "$4" "$xf"
}
