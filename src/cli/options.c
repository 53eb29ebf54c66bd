// options.c — the one option parser of the subcommands (see cli.h): a table of options handed
// to getopt_long, every value checked strictly, every bad one a usage error (exit code 2).
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_OPTIONS 32

kevo_status cli_lens(const char *arg, void *dest, kevo_error *err)
{
    return kevo_lens_mode_parse(arg, dest, err);
}

kevo_status cli_divergence(const char *arg, void *dest, kevo_error *err)
{
    return kevo_divergence_parse(arg, dest, err);
}

kevo_status cli_scale(const char *arg, void *dest, kevo_error *err)
{
    return kevo_scale_parse(arg, dest, err);
}

kevo_status cli_figure_format(const char *arg, void *dest, kevo_error *err)
{
    return kevo_figure_format_parse(arg, dest, err);
}

kevo_status cli_template(const char *arg, void *dest, kevo_error *err)
{
    return kevo_template_parse(arg, dest, err);
}

kevo_status cli_image_mode(const char *arg, void *dest, kevo_error *err)
{
    return kevo_image_mode_parse(arg, dest, err);
}

// A word that reads as a hidden-state spec ("all", "every=N", or indices, ranges and "L"
// joined by commas), so that `--image-states 0,8:L` takes it and `--image-states IMAGE` does not.
static int is_spec(const char *s)
{
    if (!s || !*s)
        return 0;
    if (strcmp(s, "all") == 0 || strncmp(s, "every=", 6) == 0)
        return 1;
    return strspn(s, "0123456789L:,") == strlen(s);
}

// One option's value into its destination: 1 done, 0 a usage error was printed.
static int apply(const char *cmd, const cli_option *o, const char *arg)
{
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", o->name);
    kevo_error err;
    int v;
    switch (o->kind) {
    case CLI_HELP:
        return 1;
    case CLI_FLAG:
        *(int *)o->dest = 1;
        return 1;
    case CLI_STRING:
        *(const char **)o->dest = arg;
        return 1;
    case CLI_SPEC:
        *(const char **)o->dest = arg ? arg : "";
        return 1;
    case CLI_INT:
        return cli_parse_int(cmd, opt, arg, (long)o->lo, (long)o->hi, o->dest);
    case CLI_SEED:
        if (!cli_parse_int(cmd, opt, arg, (long)o->lo, (long)o->hi, &v))
            return 0;
        *(uint64_t *)o->dest = (uint64_t)v;
        return 1;
    case CLI_DOUBLE:
        return cli_parse_double(cmd, opt, arg, o->lo, o->hi, o->dest);
    case CLI_CHOICE:
        if (o->choice(arg, o->dest, &err) == KEVO_OK)
            return 1;
        cli_usage_error(cmd, "%s", err.msg);
        return 0;
    case CLI_CALL:
        return o->call(cmd, arg, o->dest);
    }
    return 0;
}

int cli_parse(const char *cmd, const char *usage, int flags, const cli_option *opts, int argc,
              char **argv)
{
    // getopt_long's table and short-option string: an option with a letter answers to it, the
    // others to 256 + their index. (Every command's table is shorter than MAX_OPTIONS.)
    struct option longs[MAX_OPTIONS + 1] = {{0}};
    char shorts[2 * MAX_OPTIONS + 1] = "";
    int n = 0, k = 0;
    for (; n < MAX_OPTIONS && opts[n].name; n++) {
        int has_arg = opts[n].kind != CLI_HELP && opts[n].kind != CLI_FLAG;
        int arg_kind = opts[n].kind == CLI_SPEC ? optional_argument
                       : has_arg                 ? required_argument
                                                 : no_argument;
        longs[n] = (struct option){opts[n].name, arg_kind, 0,
                                   opts[n].letter ? opts[n].letter : 256 + n};
        if (opts[n].letter) {
            shorts[k++] = opts[n].letter;
            if (has_arg)
                shorts[k++] = ':';
        }
    }
    optind = 1;
    opterr = !(flags & CLI_NAME_UNKNOWN);
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        int i = 0;
        while (i < n && (opts[i].letter ? opts[i].letter : 256 + i) != c)
            i++;
        if (i == n)
            return flags & CLI_NAME_UNKNOWN
                       ? cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1])
                       : cli_usage_error(cmd, "unknown option");
        if (opts[i].kind == CLI_HELP) {
            fputs(usage, stdout);
            return EXIT_OK;
        }
        const char *arg = optarg;
        if (opts[i].kind == CLI_SPEC && !arg && optind < argc && is_spec(argv[optind]))
            arg = argv[optind++];   // getopt takes an optional argument only after '='
        if (!apply(cmd, &opts[i], arg))
            return EXIT_USAGE;
    }
    return CLI_CONTINUE;
}
