// test_architecture.c — src/ is the tree docs/architecture.md describes: every folder a room of
// its table, every #include allowed by the including room's row, no file over the stated limit
// (tools/check_layers.sh reads the table and does the checking).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test.h"

KEVO_TEST(architecture_rooms_and_includes_as_documented)
{
    char log[1200], cmd[1400];
    snprintf(log, sizeof log, "%s/layers.log", kevo_test_tmpdir());
    snprintf(cmd, sizeof cmd, "tools/check_layers.sh . >'%s' 2>&1", log);
    int status = system(cmd);
    char *out = kevo_test_slurp(log, NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "src/ breaks docs/architecture.md (exit %d):\n%s",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1, out ? out : "(no log)");
    free(out);
}

// The checker itself: a room including a room above it, a folder the table does not know and an
// over-long file are each reported, so a green result above means something.
KEVO_TEST(architecture_checker_catches_violations)
{
    const char *tmp = kevo_test_tmpdir();
    char cmd[4096], log[1200];
    snprintf(log, sizeof log, "%s/layers-bad.log", tmp);
    snprintf(cmd, sizeof cmd,
             "set -e; r='%s/layers-repo'; rm -rf \"$r\"; mkdir -p \"$r/docs\" \"$r/src/base\" "
             "\"$r/src/model\" \"$r/src/stray\"; "
             "printf '%%s\\n' 'No file of `src/` is longer than 5 lines.' "
             "'| `model/` | base | engine |' '| `base/` |  | errors |' > \"$r/docs/architecture.md\"; "
             "printf '#include \"model/x.h\"\\n' > \"$r/src/base/a.c\"; "
             "printf '#include \"base/y.h\"\\n#include \"kevo.h\"\\n' > \"$r/src/model/b.c\"; "
             "printf '1\\n2\\n3\\n4\\n5\\n6\\n' > \"$r/src/model/long.c\"; "
             "touch \"$r/src/stray/c.c\"; "
             "if tools/check_layers.sh \"$r\" > '%s' 2>&1; then exit 3; fi",
             tmp, log);
    int status = system(cmd);
    char *out = kevo_test_slurp(log, NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the checker passed a bad tree:\n%s",
          out ? out : "(no log)");
    CHECK(out && strstr(out, "src/base/a.c: includes model/"), "upward include not reported:\n%s",
          out ? out : "");
    CHECK(out && strstr(out, "src/stray/: not a room"), "unknown folder not reported:\n%s",
          out ? out : "");
    CHECK(out && strstr(out, "src/model/long.c: 6 lines (limit 5)"),
          "long file not reported:\n%s", out ? out : "");
    CHECK(out && !strstr(out, "src/model/b.c"), "an allowed include was reported:\n%s",
          out ? out : "");
    free(out);
}
