/*
 * test_manifest.c - the manifest parsers over buffers: CSV and TSV with RFC
 * 4180 quoting, JSON lines, list files, COCO and YOLO, their error messages
 * (file and line), and path normalisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/repo.h"
#include "testutil.h"

static const dedup_manifest_columns cols = {"path", "split", "label", 0};

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            dedup_test_fail(__FILE__, __LINE__, "%s == %s ('%s' != '%s')", #a, #b,                 \
                            sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                           \
    } while (0)

/* Parse must fail with exactly this message. */
static void expect_error(int rc, const dedup_error *err, const char *want, int line)
{
    if (rc == 0)
        dedup_test_fail(__FILE__, line, "parse succeeded, wanted: %s", want);
    else if (strcmp(err->msg, want) != 0)
        dedup_test_fail(__FILE__, line, "error\n  got  %s\n  want %s", err->msg, want);
}

static int csv(dedup_manifest *m, const char *text, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_manifest_parse_csv(m, text, strlen(text), ',', &cols, "s.csv", err);
}

static void test_csv(void)
{
    dedup_manifest m;
    dedup_error err;
    const char *text = "\xEF\xBB\xBFid,path,split,label\r\n"
                       "1,a/b.jpg,train,cat\r\n"
                       "\r\n"
                       "2,\"a, \"\"quoted\"\".jpg\",test,\"two\nlines\"\r\n"
                       "3,c.jpg,val,\n"
                       "4,\"d.jpg\",\"train\",\"\"";
    CHECK_EQ_INT(csv(&m, text, &err), 0);
    CHECK_EQ_INT(m.count, 4);
    CHECK_EQ_INT(m.kind, DEDUP_MANIFEST_CSV);
    if (m.count == 4) {
        CHECK_STR(m.rows[0].path, "a/b.jpg");
        CHECK_STR(m.rows[0].split, "train");
        CHECK_STR(m.rows[0].label, "cat");
        CHECK_EQ_INT(m.rows[0].line, 2);
        CHECK_STR(m.rows[1].path, "a, \"quoted\".jpg");
        CHECK_STR(m.rows[1].label, "two\nlines");
        CHECK_EQ_INT(m.rows[1].line, 4);
        CHECK_STR(m.rows[2].path, "c.jpg");
        CHECK(m.rows[2].label == NULL); /* empty label: none */
        CHECK_EQ_INT(m.rows[2].line, 6);
        CHECK_STR(m.rows[3].path, "d.jpg");
        CHECK_STR(m.rows[3].split, "train");
        CHECK(m.rows[3].label == NULL);
        CHECK_EQ_INT(m.rows[3].line, 7);
    }
    dedup_manifest_free(&m);

    /* no label column: fine unless configured */
    CHECK_EQ_INT(csv(&m, "path,split\nx.jpg,test\n", &err), 0);
    CHECK_EQ_INT(m.count, 1);
    CHECK(m.count == 1 && m.rows[0].label == NULL);
    dedup_manifest_free(&m);
    dedup_manifest_columns strict = {"file", "set", "class", 1};
    dedup_error_clear(&err);
    int rc = dedup_manifest_parse_csv(&m, "file,set\nx,test\n", 16, ',', &strict, "s.csv", &err);
    expect_error(rc, &err,
                 "s.csv:1: no column named 'class' in the header (columns: file, set); name the "
                 "right one with dedup.labelColumn",
                 __LINE__);
    CHECK_EQ_INT(m.count, 0);

    /* errors: file and line */
    expect_error(csv(&m, "file,split\nx,test\n", &err), &err,
                 "s.csv:1: no column named 'path' in the header (columns: file, split); name the "
                 "right one with dedup.pathColumn",
                 __LINE__);
    expect_error(csv(&m, "\n\npath,kind\n", &err), &err,
                 "s.csv:3: no column named 'split' in the header (columns: path, kind); name the "
                 "right one with dedup.splitColumn",
                 __LINE__);
    expect_error(csv(&m, "path,split\na,train\n\"b\"c,test\n", &err), &err,
                 "s.csv:3: bad quote: text after the closing quote of a field", __LINE__);
    expect_error(csv(&m, "path,split\na,train\nb\"c,test\n", &err), &err,
                 "s.csv:3: bad quote: a quote inside an unquoted field (quote the whole field "
                 "and double the quote)",
                 __LINE__);
    expect_error(csv(&m, "path,split\na,train\n\"b,test\nc,val\n", &err), &err,
                 "s.csv:3: bad quote: the quoted field opened on line 3 never closes", __LINE__);
    expect_error(csv(&m, "path,split\n\"a\nb\",train\nc,val,x\n", &err), &err,
                 "s.csv:4: 3 fields, but the header has 2 (path, split)", __LINE__);
    expect_error(csv(&m, "path,split\n,train\n", &err), &err, "s.csv:2: the path column is empty",
                 __LINE__);
    expect_error(csv(&m, "path,split\na,\n", &err), &err, "s.csv:2: the split column is empty",
                 __LINE__);
    expect_error(csv(&m, "", &err), &err, "s.csv:1: no header line (the file is empty)", __LINE__);
    CHECK_EQ_INT(m.count, 0);
    CHECK(m.rows == NULL);

    /* TSV: the same rules with a tab */
    const char *tsv = "path\tsplit\n\"a\tb.jpg\"\ttest\nc,d.jpg\ttrain\n";
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_manifest_parse_csv(&m, tsv, strlen(tsv), '\t', &cols, "s.tsv", &err), 0);
    CHECK_EQ_INT(m.kind, DEDUP_MANIFEST_TSV);
    CHECK_EQ_INT(m.count, 2);
    if (m.count == 2) {
        CHECK_STR(m.rows[0].path, "a\tb.jpg");
        CHECK_STR(m.rows[1].path, "c,d.jpg");
        CHECK_STR(m.rows[1].split, "train");
    }
    dedup_manifest_free(&m);
}

static int jsonl(dedup_manifest *m, const char *text, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_manifest_parse_jsonl(m, text, strlen(text), &cols, "r.jsonl", err);
}

static void test_jsonl(void)
{
    dedup_manifest m;
    dedup_error err;
    const char *text =
        "{\"path\": \"a.jpg\", \"split\": \"train\", \"label\": \"cat\"}\n"
        "\n"
        "  {\"extra\": {\"path\": 1}, \"split\": \"test\", \"path\": \"b \\u00e9.jpg\","
        " \"label\": 7}\r\n"
        "{\"path\":\"c.jpg\",\"split\":\"val\",\"label\":null}";
    CHECK_EQ_INT(jsonl(&m, text, &err), 0);
    CHECK_EQ_INT(m.count, 3);
    if (m.count == 3) {
        CHECK_STR(m.rows[0].label, "cat");
        CHECK_STR(m.rows[1].path, "b \xc3\xa9.jpg");
        CHECK_STR(m.rows[1].split, "test");
        CHECK_STR(m.rows[1].label, "7");
        CHECK_EQ_INT(m.rows[1].line, 3);
        CHECK(m.rows[2].label == NULL);
        CHECK_EQ_INT(m.rows[2].line, 4);
    }
    dedup_manifest_free(&m);
    expect_error(jsonl(&m, "{\"path\":\"a\",\"split\":\"b\"}\n[1]\n", &err), &err,
                 "r.jsonl:2: each line must be a JSON object", __LINE__);
    expect_error(jsonl(&m, "{\"path\":\"a\"}\n", &err), &err,
                 "r.jsonl:1: no \"split\" member; name the right one with dedup.splitColumn",
                 __LINE__);
    expect_error(jsonl(&m, "{\"path\":3,\"split\":\"x\"}\n", &err), &err,
                 "r.jsonl:1: 'path' must be a string", __LINE__);
    expect_error(jsonl(&m, "{\"path\":\"a\",\"split\":[\"x\"]}\n", &err), &err,
                 "r.jsonl:1: 'split' must be a string", __LINE__);
    expect_error(jsonl(&m, "{\"path\":\"\",\"split\":\"x\"}\n", &err), &err,
                 "r.jsonl:1: the \"path\" member is empty", __LINE__);
    int rc = jsonl(&m, "{\"path\":\"a\",\"split\":\"x\"}\n{\"path\": \"b\",\n", &err);
    CHECK(rc != 0);
    CHECK(strncmp(err.msg, "r.jsonl:2: not valid JSON: ", 27) == 0);
    rc = jsonl(&m, "{\"path\":\"a\",\"split\":\"x\"} {}\n", &err);
    CHECK(rc != 0 && strncmp(err.msg, "r.jsonl:1: not valid JSON", 25) == 0);
    CHECK_EQ_INT(m.count, 0);
}

static void test_list(void)
{
    dedup_manifest m;
    dedup_error err;
    dedup_error_clear(&err);
    const char *text = "# comment\r\n./a.jpg\r\n\n   b c.jpg  \n#x\nlast.jpg";
    CHECK_EQ_INT(dedup_manifest_parse_list(&m, text, strlen(text), "t.txt", &err), 0);
    CHECK_EQ_INT(m.count, 3);
    if (m.count == 3) {
        CHECK_STR(m.rows[0].path, "./a.jpg");
        CHECK_EQ_INT(m.rows[0].line, 2);
        CHECK(m.rows[0].split == NULL);
        CHECK_STR(m.rows[1].path, "b c.jpg");
        CHECK_EQ_INT(m.rows[1].line, 4);
        CHECK_STR(m.rows[2].path, "last.jpg");
        CHECK_EQ_INT(m.rows[2].line, 6);
    }
    dedup_manifest_free(&m);
    CHECK(dedup_manifest_parse_list(&m, "a\0b\n", 4, "t.txt", &err) != 0);
    CHECK_STR(err.msg, "t.txt:1: a NUL byte: not a list of paths");
}

static int coco(dedup_manifest *m, const char *text, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_manifest_parse_coco(m, text, strlen(text), "i.json", err);
}

static void test_coco(void)
{
    dedup_manifest m;
    dedup_error err;
    const char *text = "{\"info\": {\"images\": 1},\n"
                       " \"images\": [\n"
                       "  {\"id\": 1, \"file_name\": \"000001.jpg\", \"size\": [1, 2]},\n"
                       "  {\"file_name\": \"sub/000002.jpg\", \"id\": 2}\n"
                       " ],\n"
                       " \"annotations\": [{\"images\": [], \"file_name\": 3}]}\n";
    CHECK_EQ_INT(coco(&m, text, &err), 0);
    CHECK_EQ_INT(m.count, 2);
    if (m.count == 2) {
        CHECK_STR(m.rows[0].path, "000001.jpg");
        CHECK_EQ_INT(m.rows[0].line, 3);
        CHECK(m.rows[0].split == NULL);
        CHECK_STR(m.rows[1].path, "sub/000002.jpg");
        CHECK_EQ_INT(m.rows[1].line, 4);
    }
    dedup_manifest_free(&m);
    expect_error(coco(&m, "{\"annotations\": []}", &err), &err,
                 "i.json:1: not a COCO annotation file: no \"images\" array", __LINE__);
    expect_error(coco(&m, "[1]", &err), &err,
                 "i.json:1: not a COCO annotation file: the top level must be an object", __LINE__);
    expect_error(coco(&m, "{\n\"images\": {}}", &err), &err, "i.json:2: images must be an array",
                 __LINE__);
    expect_error(coco(&m, "{\"images\": [\n{\"file_name\": \"a\"},\n{\"id\": 2}]}", &err), &err,
                 "i.json:3: images[1] has no file_name", __LINE__);
    expect_error(coco(&m, "{\"images\": [{\"file_name\": 5}]}", &err), &err,
                 "i.json:1: file_name must be a non-empty string", __LINE__);
    int rc = coco(&m, "{\"images\": [\n{\"file_name\": \"a\"},\n{\"file_name\" \"b\"}]}", &err);
    CHECK(rc != 0 && strncmp(err.msg, "i.json:3: not valid JSON", 24) == 0);
    CHECK_EQ_INT(m.count, 0);
}

static int yolo(dedup_manifest *m, const char *text, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_manifest_parse_yolo(m, text, strlen(text), "data.yaml", err);
}

static void test_yolo(void)
{
    dedup_manifest m;
    dedup_error err;
    const char *text = "# YOLO\n"
                       "path: ../datasets/coco8\n"
                       "train:\n"
                       "  - images/train\n"
                       "  - extra.txt\n"
                       "val: images/val\n"
                       "test:\n"
                       "names:\n"
                       "  0: person\n";
    CHECK_EQ_INT(yolo(&m, text, &err), 0);
    CHECK_STR(m.root, "../datasets/coco8");
    CHECK_EQ_INT(m.count, 3);
    if (m.count == 3) {
        CHECK_STR(m.rows[0].path, "images/train");
        CHECK_STR(m.rows[0].split, "train");
        CHECK_EQ_INT(m.rows[0].line, 4);
        CHECK_STR(m.rows[1].path, "extra.txt");
        CHECK_STR(m.rows[2].split, "val");
        CHECK_EQ_INT(m.rows[2].line, 6);
    }
    dedup_manifest_free(&m);
    CHECK_EQ_INT(yolo(&m, "train: [a, b]\ntest: ~\n", &err), 0);
    CHECK_EQ_INT(m.count, 2);
    CHECK(m.root == NULL);
    dedup_manifest_free(&m);
    expect_error(yolo(&m, "- a\n- b\n", &err), &err,
                 "data.yaml:1: not a YOLO data.yaml: the top level must be a mapping", __LINE__);
    expect_error(yolo(&m, "names: [a]\n", &err), &err,
                 "data.yaml:1: not a YOLO data.yaml: no train, val or test key", __LINE__);
    expect_error(yolo(&m, "train:\n  a: b\n", &err), &err,
                 "data.yaml:2: train must be a folder or list file, or a list of them", __LINE__);
    int rc = yolo(&m, "train: [a\nval: b\n", &err);
    CHECK(rc != 0 && strncmp(err.msg, "data.yaml:", 10) == 0 && strstr(err.msg, "not valid YAML"));
    CHECK_EQ_INT(m.count, 0);
}

static void expect_norm(const char *base, const char *path, const char *want, int line)
{
    char *got = dedup_manifest_normalise(base, path);
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        dedup_test_fail(__FILE__, line, "normalise(%s, %s) = %s, want %s", base, path,
                        got ? got : "NULL", want ? want : "NULL");
    free(got);
}

static void test_paths(void)
{
    expect_norm("", "a/b.jpg", "a/b.jpg", __LINE__);
    expect_norm("", "./a//b.jpg", "a/b.jpg", __LINE__);
    expect_norm("meta", "../img/a.jpg", "img/a.jpg", __LINE__);
    expect_norm("a/b", "./../../c/./d/../e.jpg", "c/e.jpg", __LINE__);
    expect_norm("a", "..", "", __LINE__);
    expect_norm("", "..", NULL, __LINE__);
    expect_norm("a", "../../x.jpg", NULL, __LINE__);
    expect_norm("", "/etc/passwd", NULL, __LINE__);
    expect_norm("", ".", "", __LINE__);

    CHECK_EQ_INT(dedup_manifest_kind_of("x/SPLITS.CSV"), DEDUP_MANIFEST_CSV);
    CHECK_EQ_INT(dedup_manifest_kind_of("a.tsv"), DEDUP_MANIFEST_TSV);
    CHECK_EQ_INT(dedup_manifest_kind_of("a.jsonl"), DEDUP_MANIFEST_JSONL);
    CHECK_EQ_INT(dedup_manifest_kind_of("a.ndjson"), DEDUP_MANIFEST_JSONL);
    CHECK_EQ_INT(dedup_manifest_kind_of("instances_val2017.json"), DEDUP_MANIFEST_COCO);
    CHECK_EQ_INT(dedup_manifest_kind_of("data.yaml"), DEDUP_MANIFEST_YOLO);
    CHECK_EQ_INT(dedup_manifest_kind_of("data.yml"), DEDUP_MANIFEST_YOLO);
    CHECK_EQ_INT(dedup_manifest_kind_of("test.txt"), DEDUP_MANIFEST_LIST);
    CHECK_EQ_INT(dedup_manifest_kind_of("lists/val"), DEDUP_MANIFEST_LIST);

    /* the path convention's rule on one name (list files, COCO tokens) */
    CHECK_EQ_INT(dedup_split_from_name("val2017", 7), DEDUP_SPLIT_VAL);
    CHECK_EQ_INT(dedup_split_from_name("Validation", 10), DEDUP_SPLIT_VAL);
    CHECK_EQ_INT(dedup_split_from_name("train_v2", 8), DEDUP_SPLIT_TRAIN);
    CHECK_EQ_INT(dedup_split_from_name("instances", 9), DEDUP_SPLIT_NONE);
}

int main(void)
{
    test_csv();
    test_jsonl();
    test_list();
    test_coco();
    test_yolo();
    test_paths();
    return dedup_test_finish("test_manifest");
}
