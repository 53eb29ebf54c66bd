// cli.h — what the subcommands of `kevo` share: their signature, exit codes, messages, option
// parsing, paths, and the stages line.
//
// Exit codes: 0 success, 1 a runtime failure (bad file, model mismatch, I/O), 2 bad usage.
#ifndef KEVO_CLI_CLI_H
#define KEVO_CLI_CLI_H

#include <getopt.h>
#include <stddef.h>

#include "kevo.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

// What cli_parse returns when the command goes on (any other value is the exit code).
#define CLI_CONTINUE (-1)

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

// Formats a path into buf; one longer than KEVO_PATH_MAX is an error (KEVO_ERR_ARG), never cut.
kevo_status cli_path(char buf[KEVO_PATH_MAX], kevo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// The length of a path's file name without its extension ("d/a.png" -> 1, ".x" -> 2): the name
// of an image's run folder. *base receives the file name.
int cli_stem(const char *path, const char **base);

// The model a run is read through: the one given (path and, for a GGUF text model, its vision
// file mmproj or NULL), else the one the run records, which must be there (opt names the option
// that gives another).
kevo_status cli_run_model(const kevo_runfolder *run, const char *path, const char *mmproj,
                          const char *opt, kevo_model **out, kevo_error *err);

// The stages of s as the commands print them, " rapid evolution (layers 0-6), stabilisation
// (layers 7-8), mutation (layer 9)", into buf.
const char *cli_stages_text(const kevo_stages *s, char *buf, size_t size);

// The help lines of -m and --mmproj of the commands that generate (run, batch).
#define CLI_MODEL_HELP                                                                           \
    "  -m, --model DIR      a hub model folder (LLaVA-1.5, LLaVA-NeXT, Qwen2-VL,\n"               \
    "                       Qwen2.5-VL), or llama.cpp's LLaVA-1.5 GGUF: a folder with\n"         \
    "                       the text model and its mmproj*.gguf, or the text .gguf\n"            \
    "  --mmproj FILE        the text .gguf's vision file, named apart (anywhere; as\n"           \
    "                       llama.cpp's -m TEXT.gguf --mmproj MMPROJ.gguf)\n"

// ---------------------------------------------------------------------------------------------
// Options: each command describes its options in a table that cli_parse hands to getopt_long in
// the table's order (the order getopt lists an ambiguous abbreviation's possibilities in).

typedef enum cli_kind {
    CLI_HELP,     // prints the usage on stdout; the command exits with 0
    CLI_FLAG,     // no argument: int *dest = 1
    CLI_STRING,   // const char **dest = the argument
    CLI_INT,      // int *dest = a whole number in [lo, hi]
    CLI_SEED,     // uint64_t *dest = a whole number in [lo, hi]
    CLI_DOUBLE,   // double *dest = a number in [lo, hi]
    CLI_CHOICE,   // *dest through choice(), whose message is the usage error
    CLI_CALL,     // call(cmd, argument, dest): 1 done, 0 a usage error was printed
    CLI_SPEC,     // an optional argument: const char **dest = "--name=V" or "--name V" when V
                  // reads as a spec (cli_is_spec), else "" (given without one)
} cli_kind;

typedef struct cli_option {
    const char *name;   // the long option without "--"; NULL ends the table
    char letter;        // its one-letter form, or 0
    cli_kind kind;
    void *dest;
    double lo, hi;      // CLI_INT, CLI_SEED, CLI_DOUBLE
    kevo_status (*choice)(const char *arg, void *dest, kevo_error *err);
    int (*call)(const char *cmd, const char *arg, void *dest);
} cli_option;

#define CLI_OPT_HELP {"help", 'h', CLI_HELP, NULL, 0, 0, NULL, NULL}
#define CLI_OPT_FLAG(name, letter, dest) {name, letter, CLI_FLAG, dest, 0, 0, NULL, NULL}
#define CLI_OPT_STRING(name, letter, dest) {name, letter, CLI_STRING, dest, 0, 0, NULL, NULL}
#define CLI_OPT_INT(name, letter, dest, lo, hi) {name, letter, CLI_INT, dest, lo, hi, NULL, NULL}
#define CLI_OPT_SEED(name, dest, hi) {name, 0, CLI_SEED, dest, 0, hi, NULL, NULL}
#define CLI_OPT_DOUBLE(name, dest, lo, hi) {name, 0, CLI_DOUBLE, dest, lo, hi, NULL, NULL}
#define CLI_OPT_CHOICE(name, dest, fn) {name, 0, CLI_CHOICE, dest, 0, 0, fn, NULL}
#define CLI_OPT_CALL(name, letter, dest, fn) {name, letter, CLI_CALL, dest, 0, 0, NULL, fn}
#define CLI_OPT_SPEC(name, dest) {name, 0, CLI_SPEC, dest, 0, 0, NULL, NULL}
#define CLI_OPT_END {NULL, 0, CLI_HELP, NULL, 0, 0, NULL, NULL}

// The options several commands take, each with its one range and parser.
#define CLI_OPT_THREADS(dest) CLI_OPT_INT("threads", 0, dest, 1, 1024)
#define CLI_OPT_LENS(dest) CLI_OPT_CHOICE("lens", dest, cli_lens)
#define CLI_OPT_DIVERGENCE(dest) CLI_OPT_CHOICE("divergence", dest, cli_divergence)
#define CLI_OPT_FORMAT(dest) CLI_OPT_CHOICE("format", dest, cli_figure_format)
#define CLI_OPT_DPI(dest) CLI_OPT_DOUBLE("dpi", dest, 10, 2400)
#define CLI_OPT_PERPLEXITY(dest) CLI_OPT_DOUBLE("perplexity", dest, 1, 1e4)
#define CLI_OPT_MUTATION(dest) CLI_OPT_INT("mutation", 0, dest, 2, 1 << 20)

// The library's parsers of option values, for CLI_CHOICE.
kevo_status cli_lens(const char *arg, void *dest, kevo_error *err);
kevo_status cli_divergence(const char *arg, void *dest, kevo_error *err);
kevo_status cli_scale(const char *arg, void *dest, kevo_error *err);
kevo_status cli_figure_format(const char *arg, void *dest, kevo_error *err);
kevo_status cli_template(const char *arg, void *dest, kevo_error *err);
kevo_status cli_image_mode(const char *arg, void *dest, kevo_error *err);

// How a command answers an option it does not know: with getopt's own message and then
// "unknown option" (0), or with "unknown option 'ARG'" alone (CLI_NAME_UNKNOWN).
#define CLI_NAME_UNKNOWN 1

// Parses argv's options for command cmd; returns CLI_CONTINUE with optind at the first operand,
// or the exit code (after printing the usage, or a usage error).
int cli_parse(const char *cmd, const char *usage, int flags, const cli_option *opts, int argc,
              char **argv);

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_tsne(int argc, char **argv);
int cmd_tsne_runs(int argc, char **argv);   // cmd_tsne_runs.c: kevo tsne RUN_DIR...

#endif
