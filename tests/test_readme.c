// test_readme.c — README.md's example block runs as written (tools/check_readme.sh) against the
// kevo binary under test, and what it claims to write is there.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

KEVO_TEST(readme_examples_run_as_written)
{
    const char *bin = getenv("KEVO_BIN") ? getenv("KEVO_BIN") : "build/kevo";
    char scratch[1100], log[1200], cmd[4096];
    snprintf(scratch, sizeof scratch, "%s/readme", kevo_test_tmpdir());
    snprintf(log, sizeof log, "%s/readme.log", kevo_test_tmpdir());
    snprintf(cmd, sizeof cmd, "tools/check_readme.sh README.md '%s' '%s' >'%s' 2>&1", bin, scratch,
             log);
    int status = system(cmd);
    char *out = kevo_test_slurp(log, NULL);
    if (!CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "README's examples failed (exit %d); the end of their log:\n%s",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1,
               out ? out + (strlen(out) > 3000 ? strlen(out) - 3000 : 0) : "(no log)")) {
        free(out);
        return;
    }
    free(out);
    const char *made[] = {"runs/flower02/run.json", "runs/flower02/analysis/heatmap.png",
                          "runs/flower02/analysis-correct/stages.json",
                          "runs/flowers/summary.csv", "runs/flowers-map/tsne.png",
                          "runs/scenes/tsne/tsne.png", "runs/flower02-embedding.csv",
                          "runs/pixels.safetensors", "runs/seen.png",
                          "runs/dataset/flower01/analysis/stages.json",
                          "runs/dataset/flower02/item.json",
                          "runs/dataset/summary.shard-1-of-2.csv"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", scratch, made[i]);
        CHECK(access(path, R_OK) == 0, "README's examples did not write %s",
              made[i]);
    }
}
