// main.c — `kevo`: dispatches to one subcommand per file in src/cli/.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    cli_command_fn fn;
    const char *summary;
} commands[] = {
    {"run", cmd_run, "-m MODEL -i IMAGE -p PROMPT: answer, and record every layer's state"},
    {"analyze", cmd_analyze, "RUN_DIR: lens, divergences, candidates, stages, figures, report"},
    {"diff", cmd_diff, "RUN_A RUN_B: two runs of one image and question compared layer by layer"},
    {"tsne", cmd_tsne, "RUN_DIR... | --input X: t-SNE maps of hidden states (or any matrix)"},
    {"batch", cmd_batch, "-m MODEL -o OUT IMAGE... | --manifest FILE: many runs, shardable"},
    {"stats", cmd_stats, "OUT...: statistics over many analysed runs: layers, kinds, SHIFT"},
    {"demo", cmd_demo, "[-o OUT]: the bundled model on the bundled images, every figure"},
    {"info", cmd_info, "MODEL_DIR: architecture, dimensions, dtypes, parameters, memory"},
    {"tokenize", cmd_tokenize, "MODEL_DIR TEXT: token ids and pieces, prompt ids, decoding"},
    {"preprocess", cmd_preprocess, "MODEL_DIR IMAGE -o PIXELS: the vision tower's pixel_values"},
};

#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fprintf(out,
            "kevo %s — how knowledge evolves layer by layer inside a vision-language model\n"
            "\n"
            "usage: kevo COMMAND [options]     (kevo COMMAND --help for its options)\n"
            "\n"
            "commands:\n",
            KEVO_VERSION);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nexit status: 0 success, 1 runtime failure, 2 bad usage\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("kevo %s\n", KEVO_VERSION);
        return EXIT_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "kevo: unknown command '%s'\n\n", name);
    print_help(stderr);
    return EXIT_USAGE;
}
