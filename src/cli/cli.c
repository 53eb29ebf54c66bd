// cli.c — error reporting, strict number parsing, paths and the stages line shared by the
// subcommands.
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_report(const kevo_error *err)
{
    fprintf(stderr, "kevo: %s\n", err->msg[0] ? err->msg : kevo_status_str(err->status));
    return err->status == KEVO_ERR_ARG ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kevo %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see: kevo %s --help)\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects a whole number from %ld to %ld, not '%s'", opt, lo, hi,
                        s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects a number from %g to %g, not '%s'", opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

const char *cli_bytes(char *buf, unsigned long size, double bytes)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4)
        bytes /= 1000, u++;
    snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

kevo_status cli_path(char buf[KEVO_PATH_MAX], kevo_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, KEVO_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n >= 0 && n < KEVO_PATH_MAX)
        return KEVO_OK;
    return kevo_fail(err, KEVO_ERR_ARG, "path %.200s... is too long (at most %d bytes)", buf,
                     KEVO_PATH_MAX - 1);
}

int cli_stem(const char *path, const char **base)
{
    *base = kevo_path_base(path);
    const char *dot = strrchr(*base, '.');
    return dot && dot != *base ? (int)(dot - *base) : (int)strlen(*base);
}

kevo_status cli_run_model(const kevo_runfolder *run, const char *path, const char *mmproj,
                          const char *opt, kevo_model **out, kevo_error *err)
{
    kevo_model_source src = {path, mmproj};
    if (!path) {
        src = (kevo_model_source){kevo_runfolder_model_dir(run), kevo_runfolder_mmproj(run)};
        const char *gone = !kevo_dir_exists(src.path) && !kevo_file_exists(src.path) ? src.path
                           : src.mmproj && !kevo_file_exists(src.mmproj)              ? src.mmproj
                                                                                      : NULL;
        if (gone)
            return kevo_fail(err, KEVO_ERR_IO, "%s: the run's model %s is not there; give it "
                             "with %s MODEL", kevo_runfolder_dir(run), gone, opt);
    }
    return kevo_model_load_source(&src, out, err);
}

const char *cli_stages_text(const kevo_stages *s, char *buf, size_t size)
{
    kevo_stage_range rg[3];
    char label[96];
    int n = kevo_stages_ranges(s, rg);
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s %s", i ? "," : "",
                              kevo_stage_label(&rg[i], label, sizeof label));
    return buf;
}
