#!/usr/bin/env bash
# tar and zip shards in a split (WebDataset style): each image member is an
# item named "<shard>:<member>", matched with every other kind of storage;
# gzip and zstd compression; hostile and broken shards refused member by
# member or as a whole, with the rest still checked; the caps; the cache.
. "$(dirname "$0")/lib.sh"
for tool in zip zstd; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FATAL: $tool is required" >&2; exit 1; }
done

S="$T/stage"
# stage NAME: a fresh staging folder $S/NAME for a shard's members
stage() {
    rm -rf "${S:?}/$1" && mkdir -p "$S/$1" && echo "$S/$1"
}

new_repo shards
photo Dune.jpg data/train/Dune.jpg
photo Aqua.jpg data/train/Aqua.jpg
photo Storm.jpg data/test/Storm.jpg
git add data && commit_quiet "dataset"

# --- a tar shard in test: members leak by bytes and by near copy -------------
d=$(stage tar)
mkdir -p "$d/0000"
photo Dune.jpg "$d/0000/sample.jpg"
echo 3 >"$d/0000/sample.cls"
resized_copy Aqua.jpg "$d/0001.jpg"
photo Wood.jpg "$d/0002.png.jpg" # an image by name, unrelated
tar -cf data/test/shard-000.tar -C "$d" .
git add data/test
expect_exit 1 git dedup check
expect_line "LEAK data/test/shard-000.tar:0000/sample.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_grep "$(near_leak_re data/test/shard-000.tar:0001.jpg test data/train/Aqua.jpg train)" "$OUT"
expect_count 2 '^LEAK ' "$OUT"
expect_contains "(5 images checked, 3 new, 5 decoded)" "$OUT"
# members are cached by the hash of their bytes: a repacked shard costs nothing
tar -cf data/test/shard-000.tar -C "$d" 0002.png.jpg 0001.jpg 0000
git add data/test
expect_exit 1 git dedup check --format json
expect_contains '"decoded":0' "$OUT"
expect_contains '"images":6,"new":3,' "$OUT"
expect_contains '"held_out":{"path":"data/test/shard-000.tar:0000/sample.jpg","split":"test","archive":"data/test/shard-000.tar","member":"0000/sample.jpg"},"train":{"path":"data/train/Dune.jpg","split":"train"},"transform":"identity","distance":0' "$OUT"
commit_quiet "shard"

# --- the other direction: a training shard holding a committed test image -----
d=$(stage train)
photo Storm.jpg "$d/storm.jpg"
tar -czf data/train/shard-001.tar.gz -C "$d" storm.jpg
git add data/train
expect_exit 1 git dedup check
expect_line "LEAK data/test/Storm.jpg [test] ~ data/train/shard-001.tar.gz:storm.jpg [train]: exact bytes" "$OUT"
# (the committed shard's leak is not this change's: only pairs with a new side)
expect_count 1 '^LEAK ' "$OUT"
git reset -q --hard

# --- every compression and zip ---------------------------------------------
d=$(stage kinds)
photo Dune.jpg "$d/dune.jpg"
tar -cf - -C "$d" dune.jpg | zstd -q >data/test/z.tar.zst
tar -cf - -C "$d" dune.jpg | gzip >data/test/g.tgz
(cd "$d" && zip -q "$REPO/data/test/z.zip" dune.jpg)
(cd "$d" && zip -q -0 "$REPO/data/test/stored.zip" dune.jpg)
git add data/test
expect_exit 1 git dedup check
for a in g.tgz stored.zip z.tar.zst z.zip; do
    expect_line "LEAK data/test/$a:dune.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
done
git reset -q --hard
rm -f data/test/*.zst data/test/*.tgz data/test/*.zip

# --- broken shards: each reported with its reason, the rest still checked -----
rm -rf .git/dedup
d=$(stage broken)
photo Dune.jpg "$d/a.jpg"
photo Garden.jpg "$d/b.jpg"
tar -cf "$T/whole.tar" -C "$d" a.jpg b.jpg
# cut inside the second member: the first is whole and still checked
size_a=$(stat -c %s "$d/a.jpg")
head -c $((512 + size_a + 512 + 512 + 1000)) "$T/whole.tar" >data/test/truncated.tar
gzip -c "$T/whole.tar" >"$T/whole.tar.gz"
head -c 300000 "$T/whole.tar.gz" >data/test/truncated.tar.gz
echo "not an archive at all" >data/test/junk.zip
printf '\x89LZO\x00\r\n\x1a\n' >data/test/lzop.tar.gz
git add data/test
expect_exit 1 git dedup check
expect_line "LEAK data/test/truncated.tar:a.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_grep '^UNREADABLE data/test/truncated.tar: data/test/truncated.tar: truncated or corrupt: ' "$OUT"
expect_grep '^UNREADABLE data/test/truncated.tar.gz: data/test/truncated.tar.gz: truncated or corrupt: ' "$OUT"
expect_grep "^UNREADABLE data/test/junk.zip: data/test/junk.zip: not an archive git-dedup can read" "$OUT"
expect_grep "^UNREADABLE data/test/lzop.tar.gz: data/test/lzop.tar.gz: not an archive git-dedup can read" "$OUT"
expect_no_grep 'truncated.tar:b.jpg' "$OUT"
# nothing of the cut member reached the cache
rows=$(sqlite3 .git/dedup/cache.sqlite "select count(*) from features")
expect_eq "$rows" 3 "cache rows: the three whole images, nothing partial"
git rm -q --cached data/test/truncated.tar && rm data/test/truncated.tar
expect_exit 3 git dedup check
expect_exit 0 git -c dedup.unreadable=warn dedup check
git reset -q --hard
rm -f data/test/truncated.tar* data/test/junk.zip data/test/lzop.tar.gz

# --- hostile shards: refused member by member ---------------------------------
d=$(stage hostile)
photo Dune.jpg "$d/ok.jpg"
photo Storm.jpg "$d/evil.jpg"
ln -s ok.jpg "$d/link.jpg"
ln "$d/ok.jpg" "$d/hard.jpg"
tar -cf "$d/inner.tar" -C "$d" ok.jpg
tar -cf data/test/links.tar -C "$d" ok.jpg link.jpg hard.jpg inner.tar
(cd "$d" && tar -cPf "$REPO/data/test/traversal.tar" --transform 's,^,../../,' evil.jpg)
(cd "$d" && tar -cPf "$REPO/data/test/absolute.tar" "$d/evil.jpg")
git add data/test
expect_exit 1 git dedup check
expect_line "LEAK data/test/links.tar:ok.jpg [test] ~ data/train/Dune.jpg [train]: exact bytes" "$OUT"
expect_line "UNREADABLE data/test/links.tar:link.jpg: a link inside an archive: links are not followed" "$OUT"
expect_line "UNREADABLE data/test/links.tar:hard.jpg: a link inside an archive: links are not followed" "$OUT"
expect_line "UNREADABLE data/test/links.tar:inner.tar: an archive inside an archive: only one level of archives is read" "$OUT"
expect_line "UNREADABLE data/test/traversal.tar:../../evil.jpg: an absolute member name or one with a '..' component: refused (path traversal)" "$OUT"
expect_contains "UNREADABLE data/test/absolute.tar:/" "$OUT"
expect_contains "evil.jpg: an absolute member name or one with a '..' component: refused (path traversal)" "$OUT"
check "nothing was extracted next to the repository" test ! -e "$T/evil.jpg"
git reset -q --hard
rm -f data/test/links.tar data/test/traversal.tar data/test/absolute.tar

# --- caps: members, bytes per member, bytes per archive ----------------------
d=$(stage caps)
for i in 1 2 3; do photo Dune.jpg "$d/$i.jpg"; done
tar -cf data/test/three.tar -C "$d" 1.jpg 2.jpg 3.jpg
git add data/test
expect_exit 1 git dedup check
expect_count 1 '^LEAK data/test/three.tar:1.jpg ' "$OUT"
expect_exit 1 git -c dedup.archiveMaxMembers=2 dedup check
expect_line "UNREADABLE data/test/three.tar: data/test/three.tar: more than dedup.archiveMaxMembers (2) members: refused" "$OUT"
expect_count 2 '^LEAK data/test/three.tar:' "$OUT"
expect_exit 3 git -c dedup.archiveMaxMemberBytes=100k dedup check
expect_grep '^UNREADABLE data/test/three.tar:1.jpg: [0-9]+ bytes, larger than dedup.archiveMaxMemberBytes \(102400 bytes\): refused$' "$OUT"
expect_exit 1 git -c dedup.archiveMaxBytes=1m dedup check # the first member came before the cap
expect_grep '^UNREADABLE data/test/three.tar: data/test/three.tar: unpacks to more than dedup.archiveMaxBytes \(1048576 bytes\): refused as a possible archive bomb$' "$OUT"
# a zip bomb: a small file that unpacks to far more than the cap
head -c 50000000 /dev/zero >"$d/bomb.jpg"
(cd "$d" && zip -q -9 "$REPO/data/test/bomb.zip" bomb.jpg)
check "the bomb is small" test "$(stat -c %s data/test/bomb.zip)" -lt 100000
git add data/test
expect_exit 1 git -c dedup.archiveMaxMemberBytes=10m dedup check
expect_grep '^UNREADABLE data/test/bomb.zip:bomb.jpg: [0-9]+ bytes, larger than dedup.archiveMaxMemberBytes' "$OUT"
expect_exit 2 git -c dedup.archiveMaxMembers=0 dedup check
expect_contains "dedup.archiveMaxMembers: 0 is out of range" "$ERR"
git reset -q --hard
rm -f data/test/three.tar data/test/bomb.zip

# --- an archive outside any split is not looked at --------------------------
d=$(stage nosplit)
photo Dune.jpg "$d/x.jpg"
mkdir -p misc
tar -cf misc/all.tar -C "$d" x.jpg
git add misc
expect_exit 0 git dedup check
expect_line "git-dedup: ok: no staged image in a train/test/val split to check." "$OUT"
git reset -q --hard

finish
