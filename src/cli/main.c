/*
 * main.c - `git-dedup` (run by git as `git dedup`): argument parsing, exit
 * codes, and the glue from repository to report.  The only place that
 * prints to the terminal or decides how the process ends.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "cli.h"
#include "dedup/match.h"
#include "dedup/report.h"
#include "dedup/repo.h"
#include "dedup/store.h"
#include "version.h"

static const char usage_text[] =
    "usage: git dedup check [--all | --range <base>..<head> | --rev <commit>]\n"
    "                       [--format text|json]\n"
    "       git dedup install\n"
    "       git dedup uninstall\n"
    "       git dedup --help | --version\n"
    "\n"
    "Refuses changes that put a copy or near copy of a training image in a\n"
    "held-out (test/val) split.\n"
    "\n"
    "  check            check what is staged (the index against HEAD)\n"
    "    --all          check every image in the index (bare repository: at HEAD)\n"
    "    --range A..B   check what B changes since the merge base of A and B, against\n"
    "                   the whole dataset at B (for CI; A...B means the same)\n"
    "    --rev C        check every image at commit C\n"
    "    --format F     report as text (default) or json\n"
    "  install          install the pre-commit and pre-merge-commit hooks\n"
    "  uninstall        remove them (restoring any hook they chained)\n"
    "\n"
    "Exit status: 0 no leak; 1 leak found; 2 usage, config or repository error;\n"
    "3 no leak found but some images could not be checked (0 with\n"
    "`git config dedup.unreadable warn`).\n"
    "\n"
    "Config (git config, or a committed .gitdedup; see the README for all keys):\n"
    "dedup.threshold (0-255, default 31), dedup.unreadable (fail|warn),\n"
    "dedup.maxPixels (largest image decoded, default 178956970; k/m/g suffixes),\n"
    "dedup.overlap (look for overlapping crops, default true),\n"
    "dedup.minOverlap (percent of the held-out image, 1-100, default 20),\n"
    "dedup.maxRotation (degrees an overlap may be turned from a quarter turn, 0-45,\n"
    "default 7; 45: any),\n"
    "dedup.lfsMissing, dedup.dvcMissing (fail|warn: an LFS or DVC object not fetched),\n"
    "dedup.maxBlobBytes (largest plain git blob read, default 256m; larger: use LFS).\n";

/* Messages quote paths and values from the dataset's own files: a control
 * character there must not reach the terminal as one. */
static void print_escaped(FILE *out, const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    }
}

static int fail(const dedup_error *err)
{
    fputs("git-dedup: error: ", stderr);
    print_escaped(stderr, err->msg);
    fputc('\n', stderr);
    return DEDUP_EXIT_ERROR;
}

/* With --format json a failed check still prints one JSON object, so a CI
 * step that parses stdout sees why instead of empty input. */
static int fail_check(const dedup_error *err, dedup_report_style style)
{
    if (style == DEDUP_REPORT_JSON) {
        printf("{\"version\":1,\"error\":");
        dedup_report_json_string(stdout, err->msg);
        printf(",\"summary\":{\"exit_code\":%d}}\n", DEDUP_EXIT_ERROR);
        fflush(stdout);
    }
    return fail(err);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "git-dedup: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return DEDUP_EXIT_ERROR;
}

typedef struct {
    dedup_scope scope;
    const char *arg; /* the range or commit */
    dedup_report_style style;
} check_args;

/* A usage error of check: with JSON asked for anywhere on the command line,
 * stdout still gets one object (a CI step parsing it sees why). */
static int check_usage_error(const check_args *a, const char *fmt, const char *arg)
{
    if (a->style == DEDUP_REPORT_JSON) {
        const int n = snprintf(NULL, 0, fmt, arg);
        char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (msg) {
            snprintf(msg, (size_t)n + 1, fmt, arg);
            printf("{\"version\":1,\"error\":");
            dedup_report_json_string(stdout, msg);
            printf(",\"summary\":{\"exit_code\":%d}}\n", DEDUP_EXIT_ERROR);
            fflush(stdout);
            free(msg);
        }
    }
    return usage_error(fmt, arg);
}

/* Whether argv asks for JSON (--json, --format json, --format=json). */
static int wants_json(int argc, char **argv)
{
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--format=json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            json = strcmp(argv[++i], "json") == 0;
        else if (strncmp(argv[i], "--format=", 9) == 0)
            json = 0;
    }
    return json;
}

static int parse_check_args(int argc, char **argv, check_args *a)
{
    a->scope = DEDUP_SCOPE_STAGED;
    a->arg = NULL;
    a->style = wants_json(argc, argv) ? DEDUP_REPORT_JSON : DEDUP_REPORT_TEXT;
    int scopes = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *fmt = NULL;
        if (strcmp(arg, "--all") == 0) {
            a->scope = DEDUP_SCOPE_ALL;
            scopes++;
            continue;
        } else if (strcmp(arg, "--range") == 0 || strcmp(arg, "--rev") == 0) {
            if (i + 1 >= argc)
                return check_usage_error(a, "%s needs a value", arg);
            a->scope = arg[3] == 'a' ? DEDUP_SCOPE_RANGE : DEDUP_SCOPE_REV;
            a->arg = argv[++i];
            scopes++;
            continue;
        } else if (strncmp(arg, "--range=", 8) == 0 || strncmp(arg, "--rev=", 6) == 0) {
            a->scope = arg[3] == 'a' ? DEDUP_SCOPE_RANGE : DEDUP_SCOPE_REV;
            a->arg = strchr(arg, '=') + 1;
            scopes++;
            continue;
        } else if (strcmp(arg, "--json") == 0) {
            fmt = "json";
        } else if (strcmp(arg, "--format") == 0) {
            if (i + 1 >= argc)
                return check_usage_error(a, "--format needs a value (text or json)%s", "");
            fmt = argv[++i];
        } else if (strncmp(arg, "--format=", 9) == 0) {
            fmt = arg + 9;
        } else {
            return check_usage_error(a, "unknown option for check: %s", arg);
        }
        if (strcmp(fmt, "json") == 0)
            a->style = DEDUP_REPORT_JSON;
        else if (strcmp(fmt, "text") == 0)
            a->style = DEDUP_REPORT_TEXT;
        else
            return check_usage_error(a, "unknown format '%s' (use text or json)", fmt);
    }
    if (scopes > 1)
        return check_usage_error(a, "use only one of --all, --range and --rev%s", "");
    return 0;
}

typedef struct {
    unsigned threshold;
    int unreadable_warn;
    int quote_paths;
    uint64_t max_pixels;
    int held_out_pairs;
    int overlap;
    int min_overlap_percent;
    int max_rotation_degrees;
} check_config;

static int read_config(dedup_repo *repo, check_config *cfg, dedup_error *err)
{
    int threshold;
    int rc = dedup_repo_config_int(repo, "dedup.threshold", 0, 255, 31, &threshold, err);
    if (rc)
        return rc;
    cfg->threshold = (unsigned)threshold;
    rc = dedup_repo_config_bool(repo, "dedup.checkHeldOutPairs", 0, &cfg->held_out_pairs, err);
    if (rc)
        return rc;
    dedup_match_options defaults;
    dedup_match_options_init(&defaults);
    int max_pixels;
    rc = dedup_repo_config_int(repo, "dedup.maxPixels", 1, INT_MAX, (int)defaults.max_pixels,
                               &max_pixels, err);
    if (rc)
        return rc;
    cfg->max_pixels = (uint64_t)max_pixels;
    rc = dedup_repo_config_bool(repo, "dedup.overlap", 1, &cfg->overlap, err);
    if (rc == 0)
        rc = dedup_repo_config_int(repo, "dedup.minOverlap", 1, 100,
                                   (int)(100 * defaults.min_overlap + 0.5),
                                   &cfg->min_overlap_percent, err);
    if (rc == 0)
        rc = dedup_repo_config_int(repo, "dedup.maxRotation", 0, 45,
                                   (int)(defaults.max_rotation + 0.5), &cfg->max_rotation_degrees,
                                   err);
    if (rc)
        return rc;
    char *mode = NULL;
    if ((rc = dedup_repo_config_string(repo, "dedup.unreadable", &mode, err)))
        return rc;
    cfg->unreadable_warn = 0;
    if (mode && strcmp(mode, "warn") == 0)
        cfg->unreadable_warn = 1;
    else if (mode && strcmp(mode, "fail") != 0)
        rc =
            dedup_error_set(err, DEDUP_ECONFIG,
                            "dedup.unreadable: '%s' is not a valid value (use fail or warn)", mode);
    free(mode);
    if (rc)
        return rc;
    return dedup_repo_config_bool(repo, "core.quotePath", 1, &cfg->quote_paths, err);
}

static int open_cache(dedup_repo *repo, dedup_store **store)
{
    const char *common = dedup_repo_common_dir(repo);
    size_t n = strlen(common) + sizeof("dedup");
    char *dir = malloc(n);
    if (!dir)
        return -1;
    snprintf(dir, n, "%sdedup", common);
    dedup_error err;
    dedup_error_clear(&err);
    *store = NULL;
    if (dedup_store_open(store, dir, &err) != 0)
        fprintf(stderr, "git-dedup: warning: running without the feature cache: %s\n", err.msg);
    else if (dedup_store_notice(*store))
        fprintf(stderr, "git-dedup: warning: %s\n", dedup_store_notice(*store));
    free(dir);
    return 0;
}

static int exit_code_for(const dedup_result *r, const check_config *cfg)
{
    if (r->leak_count)
        return DEDUP_EXIT_LEAK;
    if (r->unreadable_count && !cfg->unreadable_warn)
        return DEDUP_EXIT_UNREADABLE;
    return DEDUP_EXIT_OK;
}

static const char *const mode_names[] = {"staged", "all", "range", "rev"};

static int cmd_check(int argc, char **argv)
{
    check_args args;
    int rc = parse_check_args(argc, argv, &args);
    if (rc)
        return rc;
    dedup_error err;
    dedup_error_clear(&err);
    dedup_repo *repo = NULL;
    if (dedup_repo_open(&repo, &err))
        return fail_check(&err, args.style);
    check_config cfg;
    dedup_item_list items = {0};
    int relevant = 0;
    /* Collect first: it loads the committed .gitdedup that config reads see. */
    if (dedup_repo_collect(repo, args.scope, args.arg, &items, &relevant, &err) ||
        read_config(repo, &cfg, &err)) {
        dedup_item_list_free(&items);
        dedup_repo_free(repo);
        return fail_check(&err, args.style);
    }
    dedup_report_options ro = {args.style,          cfg.quote_paths,
                               cfg.unreadable_warn, mode_names[args.scope],
                               cfg.threshold,       DEDUP_EXIT_OK};
    dedup_result result = {0};
    for (size_t i = 0; i < items.note_count; i++)
        fprintf(stderr, "git-dedup: note: %s\n", items.notes[i]);
    if (!relevant) {
        /* The common commit touches no image in a split: decide without
         * opening the cache or decoding anything. */
        if (args.style == DEDUP_REPORT_JSON)
            rc = dedup_report_write(stdout, &items, &result, &ro, &err);
        else
            printf("git-dedup: ok: no %simage in a train/test/val split to check.\n",
                   args.scope == DEDUP_SCOPE_STAGED  ? "staged "
                   : args.scope == DEDUP_SCOPE_RANGE ? "changed "
                                                     : "");
        dedup_item_list_free(&items);
        dedup_repo_free(repo);
        return rc ? fail_check(&err, args.style) : DEDUP_EXIT_OK;
    }
    dedup_store *store = NULL;
    open_cache(repo, &store);
    dedup_match_options mo;
    dedup_match_options_init(&mo);
    mo.threshold = cfg.threshold;
    mo.max_pixels = cfg.max_pixels;
    mo.check_held_out_pairs = cfg.held_out_pairs;
    /* --range runs in CI, which can fetch LFS and DVC objects: a missing one
     * fails there by default.  Elsewhere it warns: at a commit, and in a
     * server's pre-receive hook (git sets GIT_QUARANTINE_PATH there), whose
     * LFS objects live on the LFS server. */
    int missing_fails = args.scope == DEDUP_SCOPE_RANGE && !getenv("GIT_QUARANTINE_PATH");
    mo.overlap = cfg.overlap;
    mo.min_overlap = cfg.min_overlap_percent / 100.0;
    mo.max_rotation = cfg.max_rotation_degrees;
    rc = dedup_source_config(repo, missing_fails, &mo.source, &err);
    if (rc == 0)
        rc = dedup_match_check(repo, store, &items, &mo, &result, &err);
    int code;
    if (rc) {
        code = fail_check(&err, args.style);
    } else {
        for (size_t i = 0; i < result.note_count; i++)
            fprintf(stderr, "git-dedup: warning: %s\n", result.notes[i]);
        ro.exit_code = code = exit_code_for(&result, &cfg);
        if (dedup_report_write(stdout, &items, &result, &ro, &err))
            code = fail_check(&err, args.style);
    }
    dedup_result_free(&result);
    dedup_store_close(store);
    dedup_item_list_free(&items);
    dedup_repo_free(repo);
    return code;
}

static int cmd_install(int argc, char **argv, int uninstall)
{
    if (argc > 0)
        return usage_error("unexpected argument: %s", argv[0]);
    dedup_error err;
    dedup_error_clear(&err);
    dedup_repo *repo = NULL;
    if (dedup_repo_open(&repo, &err))
        return fail(&err);
    int rc = dedup_cli_install(repo, uninstall, &err);
    dedup_repo_free(repo);
    return rc ? fail(&err) : DEDUP_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("a command is required%s", "");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return DEDUP_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        int major, minor, rev;
        git_libgit2_version(&major, &minor, &rev);
        printf("git-dedup %s (libgit2 %d.%d.%d, feature version %d)\n", DEDUP_VERSION_STRING, major,
               minor, rev, DEDUP_FEATURE_VERSION);
        return DEDUP_EXIT_OK;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return DEDUP_EXIT_OK;
        }
    git_libgit2_init();
    int code;
    if (strcmp(cmd, "check") == 0)
        code = cmd_check(argc - 2, argv + 2);
    else if (strcmp(cmd, "install") == 0)
        code = cmd_install(argc - 2, argv + 2, 0);
    else if (strcmp(cmd, "uninstall") == 0)
        code = cmd_install(argc - 2, argv + 2, 1);
    else
        code = usage_error("unknown command '%s'", cmd);
    git_libgit2_shutdown();
    return code;
}
