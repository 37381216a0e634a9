/*
 * cli.h - the command-line layer's internal pieces.  Only the CLI prints to
 * the terminal, parses arguments and chooses exit codes.
 */
#ifndef DEDUP_CLI_H
#define DEDUP_CLI_H

#include "dedup/error.h"
#include "dedup/repo.h"

/* Exit codes, documented in the README. */
enum { DEDUP_EXIT_OK = 0, DEDUP_EXIT_LEAK = 1, DEDUP_EXIT_ERROR = 2, DEDUP_EXIT_UNREADABLE = 3 };

/* Install (or with uninstall=1 remove) the pre-commit and pre-merge-commit hooks. */
int dedup_cli_install(dedup_repo *repo, int uninstall, dedup_error *err);

#endif
