// test_demo.c — the bundled demo model answered by kevo's own engine: accuracy on a fresh set of
// colour questions (tools/oracles/oracle_demo.py), the bundled examples, `kevo demo` end to end.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "io/json.h"
#include "kevo.h"
#include "test.h"

#define DEMO_MODEL "models/demo"

// Asks every question of DIR/questions.jsonl (task "color" when only_colour) and counts the
// answers that equal the expected sentence exactly.
static void score(const char *dir, int only_colour, int *asked, int *correct, char *first_miss,
                  size_t miss_size)
{
    *asked = *correct = 0;
    first_miss[0] = '\0';
    kevo_error err;
    kevo_model *m = NULL;
    kevo_run *run = NULL;
    char path[2048], *text = NULL;
    snprintf(path, sizeof path, "%s/questions.jsonl", dir);
    if (!CHECK_OK(kevo_model_load(DEMO_MODEL, &m, &err), &err) ||
        !CHECK_OK(kevo_read_file(path, 1 << 24, &text, NULL, &err), &err))
        goto done;
    kevo_run_params p = kevo_run_default_params();
    p.max_new_tokens = 40;
    if (!CHECK_OK(kevo_run_create(m, &p, &run, &err), &err))
        goto done;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *task = cJSON_GetObjectItem(j, "task"), *img = cJSON_GetObjectItem(j, "image");
        const cJSON *q = cJSON_GetObjectItem(j, "question");
        const cJSON *want = cJSON_GetObjectItem(j, "answer");
        if (!CHECK(cJSON_IsString(img) && cJSON_IsString(q) && cJSON_IsString(want),
                   "%s: a line without image/question/answer", path)) {
            cJSON_Delete(j);
            break;
        }
        if (only_colour && (!cJSON_IsString(task) || strcmp(task->valuestring, "color") != 0)) {
            cJSON_Delete(j);
            continue;
        }
        char image[2400];
        snprintf(image, sizeof image, "%s/%s", dir, img->valuestring);
        kevo_request r = {image, q->valuestring, KEVO_TEMPLATE_LLAVA_V1, KEVO_IMAGE_MODE_PAD};
        kevo_answer a = {0};
        if (CHECK_OK(kevo_llava_answer(m, run, &r, &a, &err), &err)) {
            (*asked)++;
            if (strcmp(a.text, want->valuestring) == 0)
                (*correct)++;
            else if (!first_miss[0])
                snprintf(first_miss, miss_size, "%s: \"%s\" for \"%s\"", img->valuestring, a.text,
                         want->valuestring);
        }
        kevo_answer_clear(&a);
        cJSON_Delete(j);
    }
done:
    free(text);
    kevo_run_free(run);
    kevo_model_free(m);
}

KEVO_TEST(demo_model_answers_fresh_colour_questions)
{
    // The bundled model answers 174 of 200 (87.0%; models/demo/README.md). This guards that level
    // against regressions in the engine, the tokenizer or the preprocessing; it is below the
    // issue's target of 90%, which the model card reports as not met.
    int asked, correct;
    char miss[512];
    score(kevo_test_data("oracle/demo/eval"), 1, &asked, &correct, miss, sizeof miss);
    CHECK(asked >= 100, "only %d colour questions were asked", asked);
    CHECK(asked > 0 && correct >= 0.85 * asked, "%d of %d colour answers exact (%.1f%%); first "
          "miss: %s", correct, asked, asked ? 100.0 * correct / asked : 0.0, miss);
    if (getenv("KEVO_TEST_VERBOSE"))
        printf("    demo model: %d of %d fresh colour questions exact\n", correct, asked);
}

KEVO_TEST(demo_model_answers_bundled_flowers)
{
    int asked, correct;
    char miss[512];
    score("examples/flower", 0, &asked, &correct, miss, sizeof miss);
    CHECK(asked >= 10 && correct == asked, "%d of %d bundled flowers answered as expected; "
          "first miss: %s", correct, asked, miss);
}

KEVO_TEST(demo_command_writes_the_report)
{
    char out[1024], *so = NULL, *se = NULL;
    snprintf(out, sizeof out, "%s/demo", kevo_test_tmpdir());
    int code = kevo_test_cli(&so, &se, "demo -q -o '%s'", out);
    CHECK(code == 0 && kevo_test_contains(so, "report: ") &&
          kevo_test_contains(so, "colour answers: "), "exit %d: %s %s", code, so ? so : "",
          se ? se : "");
    const char *files[] = {"report.html", "flower/map/tsne.png", "flower/map/stages.json",
                           "flower/flower01/run.json", "flower/flower01/analysis/heatmap.png",
                           "describe/scene01/analysis/report.html"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        CHECK(kevo_file_exists(path), "%s missing", files[i]);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/report.html", out);
    char *html = kevo_test_slurp(path, NULL);
    CHECK(kevo_test_contains(html, "data:image/png;base64,"), "report.html embeds no figure");
    free(html);
    free(so);
    free(se);
}
