// cmd_stats.c — `kevo stats OUT...`: dataset-level statistics over the analysed run folders of
// batch outputs (every shard of one, or several), written as CSV, JSON and one report
// (docs/stats.md).
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/generation.h"

static const char usage[] =
    "usage: kevo stats OUT... [-o STATS_DIR] [--group-by model|settings|model,settings]\n"
    "                  [--format png|svg] [--dpi N]\n"
    "\n"
    "Merges every analysed run folder of the batch output folders OUT (their subfolders that\n"
    "hold a run.json; all shards of a batch, several batches) or of run folders given\n"
    "directly, and computes dataset-level statistics: the distribution of the critical and\n"
    "mutation layers over items and over tokens; the share of tokens that mutate by kind\n"
    "(content words, function words, punctuation, control pieces); the quartiles across\n"
    "items of each item's median log10 divergence per transition; and, for items whose\n"
    "item.json lists references, SHIFT-style tables of each mutation's top token before and\n"
    "after, judged correct or hallucinated, and the share of hallucinated tokens that mutate.\n"
    "Each number names the items and tokens it rests on. Reads run.json, analysis/stages.json\n"
    "and item.json only (hidden.safetensors may be absent). Writes stats.json, items.csv,\n"
    "layers.csv, token_kinds.csv, profile.csv, shift.csv, hallucination.csv, the figures\n"
    "critical, mutation, profile and token_kinds, and report.html (docs/stats.md).\n"
    "\n"
    "Run folders without analysis/stages.json are skipped and listed. Refused (exit status 1):\n"
    "a malformed run.json, stages.json or item.json (the message names the file and key), the\n"
    "same run folder given twice, and runs of different models (run.json's model digests,\n"
    "layers, vocabulary rows) or analysis settings (stages.json's lens, divergence, compute\n"
    "and stage parameters) unless --group-by computes the statistics per group.\n"
    "\n"
    "  -o, --output DIR       where to write (default: OUT/stats when one OUT folder is given)\n"
    "  --group-by KEY         model, settings or model,settings: statistics per group\n"
    "  --format png|svg       figure format (default png)\n"
    "  --dpi N                PNG resolution in pixels per inch (default 150)\n";

typedef struct stats_args {
    const char *out_dir;
    kevo_stats_params p;
} stats_args;

static kevo_status group_choice(const char *arg, void *dest, kevo_error *err)
{
    return kevo_stats_group_parse(arg, dest, err);
}

static int parse_args(int argc, char **argv, stats_args *a)
{
    const cli_option opts[] = {
        CLI_OPT_STRING("output", 'o', &a->out_dir),
        CLI_OPT_CHOICE("group-by", &a->p.group_by, group_choice),
        CLI_OPT_FORMAT(&a->p.figure.format),
        CLI_OPT_DPI(&a->p.figure.dpi),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("stats", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind >= argc)
        return cli_usage_error("stats", "expects at least one batch output or run folder");
    if (a->p.figure.format == KEVO_FIGURE_PDF)
        return cli_usage_error("stats", "--format pdf: the report embeds PNG or SVG; give png "
                               "or svg");
    return CLI_CONTINUE;
}

static void print_summary(const kevo_stats *s, const char *out_dir)
{
    kevo_stats_summary sum = kevo_stats_summarize(s);
    for (int i = 0; i < sum.n_skipped; i++) {
        const char *why;
        const char *run = kevo_stats_skipped(s, i, &why);
        fprintf(stderr, "kevo stats: skipped %s: %s\n", run, why);
    }
    for (int i = 0; i < sum.n_warnings; i++)
        fprintf(stderr, "kevo stats: warning: %s\n", kevo_stats_warning(s, i));
    printf("%d analysed runs (%lld tokens), %d skipped, %d group%s\n", sum.n_runs, sum.n_tokens,
           sum.n_skipped, sum.n_groups, sum.n_groups == 1 ? "" : "s");
    for (int g = 0; g < sum.n_groups; g++) {
        char line[1024];
        kevo_stats_group_text(s, g, line, sizeof line);
        printf("%s\n", line);
    }
    printf("wrote %s/: report.html, stats.json, items.csv, layers.csv, token_kinds.csv, "
           "profile.csv, shift.csv, hallucination.csv and the figures\n", out_dir);
}

int cmd_stats(int argc, char **argv)
{
    stats_args a = {.p = kevo_stats_default_params()};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_CONTINUE)
        return rc;
    a.p.interrupt = cli_catch_interrupt();
    int n = argc - optind;
    const char *const *paths = (const char *const *)argv + optind;
    kevo_error err;
    char out_dir[KEVO_PATH_MAX];
    kevo_status st = KEVO_OK;
    char marker[KEVO_PATH_MAX];
    int batch = n == 1 && kevo_dir_exists(paths[0]) &&
                kevo_path_join(marker, sizeof marker, paths[0], "run.json", NULL) == KEVO_OK &&
                !kevo_file_exists(marker);
    if (a.out_dir)
        st = cli_path(out_dir, &err, "%s", a.out_dir);
    else if (batch)
        st = kevo_path_join(out_dir, sizeof out_dir, paths[0], "stats", &err);
    else
        return cli_usage_error("stats", "give -o STATS_DIR: the default OUT/stats needs exactly "
                               "one batch output folder (not a run folder)");
    if (st == KEVO_OK)   // a destination kevo may not replace: before reading thousands of runs
        st = kevo_stats_check_dest(out_dir, &err);
    kevo_stats *s = NULL;
    if (st == KEVO_OK)
        st = kevo_stats_collect(paths, n, &a.p, &s, &err);
    if (st == KEVO_OK)
        st = kevo_stats_write(s, out_dir, &a.p, &err);
    if (st == KEVO_OK)
        print_summary(s, out_dir);
    kevo_stats_free(s);
    return st == KEVO_OK ? EXIT_OK : cli_report(&err);
}
