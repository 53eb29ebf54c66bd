// cli.h — what the subcommands of `kevo` share: their signature, exit codes, option parsing.
//
// Exit codes: 0 success, 1 a runtime failure (bad file, model mismatch, I/O), 2 bad usage.
#ifndef KEVO_CLI_CLI_H
#define KEVO_CLI_CLI_H

#include "kevo.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

// A subcommand: argv[0] is its name. Returns an exit code.
typedef int (*cli_command_fn)(int argc, char **argv);

// Prints "kevo: <message>" to stderr and returns the exit code for err->status.
int cli_report(const kevo_error *err);

// Prints "kevo CMD: <message>" and a pointer to --help; returns EXIT_USAGE.
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Parses a whole decimal integer in [lo, hi]; on failure prints a usage error for `opt`.
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                     double *out);

// Formats a byte count as "1.23 GB" into buf.
const char *cli_bytes(char *buf, unsigned long size, double bytes);

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_tsne(int argc, char **argv);
int cmd_tsne_runs(int argc, char **argv);   // cmd_tsne_runs.c: kevo tsne RUN_DIR...

#endif
