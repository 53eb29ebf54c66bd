// fuzz_stats.c — what `kevo stats` reads of a run folder (src/analysis/stats_read.c): a container
// of run.json, stages.json (analysis/stages.json in a run folder) and item.json, each parsed
// from memory by its reader, then the tokens' kinds and judgements (stats_words.c) of whatever
// the readers accept. Without a run.json that parses, stages.json is read for a 12-layer model.
#include <stdlib.h>
#include <string.h>

#include "analysis/stats.h"
#include "base/fs.h"
#include "fuzz_common.h"

static char *slurp(const char *name, size_t *len)
{
    char *text = NULL;
    return kevo_read_file(fuzz_path(name), 1u << 24, &text, len, NULL) == KEVO_OK ? text : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_unpack(data, size) < 1)
        return 0;
    stats_run r;
    memset(&r, 0, sizeof r);
    r.critical = r.mutation = -1;
    kevo_error err;
    size_t len;
    char *text = slurp("run.json", &len);
    if (!text || stats_parse_run_json(text, len, "run.json", &r, &err) != KEVO_OK)
        r.layers = 12;
    free(text);
    int ok = (text = slurp("stages.json", &len)) &&
             stats_parse_stages(text, len, "stages.json", &r, &err) == KEVO_OK;
    free(text);
    if ((text = slurp("item.json", &len)))
        stats_parse_item(text, len, "item.json", &r, &err);
    free(text);
    if (ok && r.n_tokens > 0) {
        int *kind = malloc(2 * (size_t)r.n_tokens * sizeof *kind);
        if (kind) {
            stats_token_kinds(&r, kind, kind + r.n_tokens);
            double sum = 0;
            for (int t = 0; t < r.n_tokens; t++) {
                sum += kind[t] + kind[r.n_tokens + t];
                if (r.tokens[t].from)
                    sum += stats_judge_piece(&r, r.tokens[t].from);
                sum += r.profile[t % r.layers];
            }
            fuzz_sink(sum);
        }
        free(kind);
    }
    stats_run_free(&r);
    return 0;
}
