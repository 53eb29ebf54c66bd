// batch_items.c — `kevo batch`'s bookkeeping: its items (positional images or a manifest's
// lines, docs/datasets.md), which of them a shard runs, the disk they take, the progress line
// and the summary.
//
// Shards split the batch by input order, item i to shard i mod N: deterministic from the
// manifest alone, so any shard can be rerun anywhere and the shards' folders never overlap.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/batch.h"

int batch_shard_choose(const char *arg, batch_shard *s)
{
    s->k = 0;
    s->n = 1;
    if (arg) {
        char *end;
        long k = strtol(arg, &end, 10), n = *end == '/' ? strtol(end + 1, &end, 10) : 0;
        if (*end || !strchr(arg, '/') || n < 1 || n > 1 << 20 || k < 0 || k >= n ||
            arg[0] < '0' || arg[0] > '9')
            return cli_usage_error("batch", "--shard expects K/N with 0 <= K < N (the shard's "
                                   "number counts from 0), not '%s'", arg);
        s->k = (int)k, s->n = (int)n;
        return 0;
    }
    // A Slurm job array: task ids MIN..MAX, COUNT of them; a contiguous array (no ":step")
    // maps task id - MIN to shard 0..COUNT-1, whether the user numbers the tasks from 0 or 1.
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *min = getenv("SLURM_ARRAY_TASK_MIN");
    if (!id || !count || !*id || !*count)
        return 0;
    long i = atol(id), c = atol(count), m = min && *min ? atol(min) : 0;
    if (c < 1 || i - m < 0 || i - m >= c)
        return cli_usage_error("batch", "SLURM_ARRAY_TASK_ID=%s, SLURM_ARRAY_TASK_MIN=%s and "
                               "SLURM_ARRAY_TASK_COUNT=%s do not make a shard (an array with a "
                               "step, e.g. --array=0-9:2, is not contiguous): give --shard K/N",
                               id, min ? min : "(unset)", count);
    s->k = (int)(i - m), s->n = (int)c;
    fprintf(stderr, "kevo batch: shard %d/%d from the Slurm job array (SLURM_ARRAY_TASK_ID=%s, "
            "SLURM_ARRAY_TASK_MIN=%s, SLURM_ARRAY_TASK_COUNT=%s)\n", s->k, s->n, id,
            min ? min : "0", count);
    return 0;
}

// A name the batch keeps for itself in OUT_DIR, or NULL.
static const char *reserved_name(const char *stem, int analyze)
{
    if (!*stem || !strcmp(stem, ".") || !strcmp(stem, ".."))
        return "is not a folder name";
    if (!strcmp(stem, "summary.csv") || !strncmp(stem, "summary.shard-", 14))
        return "is the batch's summary file";
    if (analyze && !strcmp(stem, "tsne"))
        return "is where --analyze puts the runs' map";
    return NULL;
}

// OUT_DIR/<image file name without its extension>: the name `kevo tsne OUT/...` and a reader
// know an image's run by. Inputs that would share a folder get no made-up names (a "-2" would
// depend on the other inputs and their order, so a later batch could pair a folder with another
// image); they are refused, every collision listed, before anything is loaded or written.
int batch_items_make(item **out, int *n_out, char **images, int n_images,
                     const kevo_manifest *mf, const char *question, const char *out_dir,
                     int analyze)
{
    int n = mf ? kevo_manifest_n_items(mf) : n_images, bad = 0;
    item *items = calloc((size_t)n + 1, sizeof *items);
    kevo_error err;
    *out = items;
    *n_out = n;
    if (!items)
        return cli_report(&(kevo_error){KEVO_ERR_NOMEM, "out of memory"});
    for (int i = 0; i < n; i++) {
        item *it = &items[i];
        it->index = i;
        it->manifest_item = mf ? i : -1;
        const char *base = NULL;
        int len;
        if (mf) {
            kevo_manifest_item mi = kevo_manifest_item_at(mf, i);
            it->image = mi.image_path, it->question = mi.question;
            base = mi.id, len = (int)strlen(mi.id);
        } else {
            it->image = images[i], it->question = question;
            len = cli_stem(it->image, &base);
        }
        if (cli_path(it->dir, &err, "%s/%.*s", out_dir, len, base) != KEVO_OK) {
            fprintf(stderr, "kevo batch: %s (the run folder of %s)\n", err.msg, it->image);
            it->dir[0] = '\0';   // shares no folder with another input
            bad = 1;
            continue;
        }
        const char *stem = it->dir + strlen(out_dir) + 1;
        const char *reserved = reserved_name(stem, analyze);
        if (reserved) {
            fprintf(stderr, "kevo batch: %s cannot be the run folder of %s: '%s' %s\n", it->dir,
                    it->image, stem, reserved);
            bad = 1;
        }
    }
    // A manifest's ids are unique (kevo_manifest_load); positional images may collide.
    for (int i = 0; !mf && i < n; i++) {
        int first = items[i].dir[0] != '\0', shared = 0;
        for (int j = 0; j < i && first; j++)
            first = strcmp(items[j].dir, items[i].dir) != 0;
        for (int j = i + 1; j < n && first && !shared; j++)
            shared = strcmp(items[j].dir, items[i].dir) == 0;
        if (!first || !shared)
            continue;
        fprintf(stderr, "kevo batch: these inputs would share the run folder %s:", items[i].dir);
        for (int j = i; j < n; j++)
            if (strcmp(items[j].dir, items[i].dir) == 0)
                fprintf(stderr, " %s", items[j].image);
        fputc('\n', stderr);
        bad = 1;
    }
    if (bad)
        fprintf(stderr, "kevo batch: nothing was run; %s\n", mf ? "change those ids" :
                "rename the images or batch them into separate -o folders");
    return bad ? EXIT_USAGE : 0;
}

int batch_items_select(item *items, int n, batch_shard s)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (items[i].index % s.n == s.k) {
            item keep = items[i];
            items[i] = items[m];
            items[m++] = keep;
        }
    return m;
}

int batch_disk_check(const kevo_config *c, int n_prompt, int max_new, int n_states,
                     int n_image_states, kevo_dtype store, int analysis, int n, int force,
                     const char *out_dir)
{
    kevo_run_bytes b = kevo_runfolder_bytes(c, c->image_tokens, n_prompt, max_new, n_states,
                                            n_image_states, store, analysis);
    uint64_t total = b.total * (uint64_t)n, avail = 0;
    char one[32], all[32], hid[32], free_s[32];
    kevo_error err;
    fprintf(stderr, "kevo batch: at most %s an item (hidden states %s, %d steps), %s for %d "
            "item%s\n", cli_bytes(one, sizeof one, (double)b.total),
            cli_bytes(hid, sizeof hid, (double)b.hidden), max_new,
            cli_bytes(all, sizeof all, (double)total), n, n == 1 ? "" : "s");
    if (kevo_free_bytes(out_dir, &avail, &err) != KEVO_OK) {
        fprintf(stderr, "kevo batch: %s (not checked)\n", err.msg);
        return 0;
    }
    if (total <= avail)
        return 0;
    fprintf(stderr, "kevo batch: %s: %s free on its file system, the batch may need %s%s\n",
            out_dir, cli_bytes(free_s, sizeof free_s, (double)avail), all,
            force ? "; going on (--ignore-disk)" : "; nothing was run (keep fewer states with "
            "--states SPEC or --no-hidden, --store f16, or --ignore-disk to run anyway)");
    return !force;
}

void batch_progress_show(const batch_progress *p, const char *current)
{
    char left[32] = "";
    double rate = p->ran && p->run_s > 0 ? p->ran / p->run_s : 0;
    if (rate > 0 && p->done < p->total) {
        double s = (p->total - p->done) / rate;
        if (s < 120)
            snprintf(left, sizeof left, ", %.0f s left", s);
        else if (s < 7200)
            snprintf(left, sizeof left, ", %.0f min left", s / 60);
        else
            snprintf(left, sizeof left, ", %.1f h left", s / 3600);
    }
    char speed[32] = "";
    if (rate > 0)
        snprintf(speed, sizeof speed, ", %.3g item%s/s", rate, rate == 1 ? "" : "s");
    if (!p->bar) {
        fprintf(stderr, "kevo batch: %d/%d items%s%s%s%s\n", p->done, p->total, speed, left,
                current ? ": " : "", current ? kevo_path_base(current) : "");
        return;
    }
    int width = 30, filled = p->total ? p->done * width / p->total : width;
    fprintf(stderr, "\r[");
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '=' : i == filled ? '>' : ' ', stderr);
    fprintf(stderr, "] %d/%d%s%s %-30.30s", p->done, p->total, speed, left,
            current ? kevo_path_base(current) : "");
    fflush(stderr);
}

// The summary table on stdout and as CSV beside the runs. The status says whether an answer was
// computed now ("done", "rerun: why") or read from a finished run that matches ("reused").
// The file is replaced atomically (kevo_outfile); each shard writes its own.
int batch_summarize(const item *items, int n, const batch_paths *paths,
                    const kevo_manifest *mf)
{
    printf("%-28s %-8s %7s  %s\n", mf ? "id" : "image", "tokens", "seconds", "answer / status");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        const char *mark = !it->answer                          ? ""
                           : strcmp(it->status, "reused") == 0    ? "  [reused]"
                           : strncmp(it->status, "rerun", 5) == 0 ? "  [rerun]"
                                                                  : "";
        printf("%-28.28s %-8d %7.1f  %s%s\n", kevo_path_base(mf ? it->dir : it->image),
               it->tokens, it->seconds, it->answer ? it->answer : it->status, mark);
    }
    kevo_outfile *f;
    kevo_error err;
    if (kevo_outfile_open(paths->summary, &f, &err) != KEVO_OK) {
        fprintf(stderr, "kevo: %s\n", err.msg);
        return 0;
    }
    FILE *s = kevo_outfile_stream(f);
    fprintf(s, "image,run_folder,status,tokens,seconds,answer,id\n");
    for (int i = 0; i < n; i++) {
        const item *it = &items[i];
        const char *text[] = {it->image, it->dir, it->status};
        for (int k = 0; k < 3; k++)
            kevo_csv_text(s, text[k]), fputc(',', s);
        fprintf(s, "%d,%.3f,", it->tokens, it->seconds);
        kevo_csv_text(s, it->answer ? it->answer : "");
        fputc(',', s);
        kevo_csv_text(s, kevo_path_base(it->dir));
        fputc('\n', s);
    }
    if (kevo_outfile_commit(f, &err) == KEVO_OK)
        return 1;
    fprintf(stderr, "kevo: %s\n", err.msg);
    return 0;
}
