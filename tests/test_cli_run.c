// test_cli_run.c — `kevo run` end to end: image file and question in, run folder out, compared
// with the PyTorch reference that started from the same PNG and the same prompt.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/runfolder.h"
#include "io/safetensors.h"
#include "test.h"

static const char *const fixtures[] = {"tiny-f32", "tiny-f16", "tiny-bf16", "tiny-gqa"};

KEVO_TEST(cli_run_matches_reference_end_to_end)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        char model[1024], image[1024], ref[1024], out[1024], *stdout_text = NULL, *errs = NULL;
        snprintf(model, sizeof model, "%s", kevo_test_data("fixtures/"));
        strcat(model, fixtures[i]);
        snprintf(image, sizeof image, "%s/%s/color.png", kevo_test_data("oracle/engine"),
                 fixtures[i]);
        snprintf(ref, sizeof ref, "%s/%s/color.safetensors", kevo_test_data("oracle/engine"),
                 fixtures[i]);
        snprintf(out, sizeof out, "%s/%s", kevo_test_tmpdir(), fixtures[i]);
        // The reference's prompt: llava_v1, pad mode, 12 new tokens
        // (tools/oracles/oracle_engine.py).
        int code = kevo_test_cli(&stdout_text, &errs, "run -m '%s' -i '%s' -p 'What is the color "
                                 "of the flower?' -n 12 -o '%s' --threads 2", model, image, out);
        if (!CHECK(code == 0, "%s: exit %d: %s", fixtures[i], code, errs ? errs : "")) {
            free(stdout_text);
            free(errs);
            continue;
        }
        kevo_error err;
        kevo_runfolder *rf = NULL;
        kevo_safetensors *f = NULL;
        if (CHECK_OK(kevo_runfolder_load(out, &rf, &err), &err) &&
            CHECK_OK(kevo_safetensors_open(ref, &f, &err), &err)) {
            const kevo_tensor *gen = kevo_safetensors_find(f, "generated_ids");
            const kevo_tensor *hid = kevo_safetensors_find(f, "hidden");
            int same = gen && rf->n_steps == (int)gen->n_elems;
            for (int t = 0; same && t < rf->n_steps; t++)
                same = rf->generated_ids[t] == ((const int64_t *)gen->data)[t];
            CHECK(same, "%s: generated ids differ from the reference", fixtures[i]);
            if (same && hid) {
                double worst = 0;
                size_t rows = (size_t)rf->n_steps * rf->n_states;
                for (size_t r = 0; r < rows; r++) {
                    double d = 0, s = 0;
                    for (int k = 0; k < rf->dim; k++) {
                        double a = rf->hidden[r * rf->dim + k];
                        double b = ((const float *)hid->data)[r * rf->dim + k];
                        d = fabs(a - b) > d ? fabs(a - b) : d;
                        s = fabs(b) > s ? fabs(b) : s;
                    }
                    worst = d / s > worst ? d / s : worst;
                }
                CHECK(worst <= 1e-4, "%s: hidden states relative error %.3g > 1e-4", fixtures[i],
                      worst);
            }
            // stdout is the answer, as recorded.
            CHECK(stdout_text && strncmp(stdout_text, rf->text, strlen(rf->text)) == 0,
                  "%s: printed answer differs from run.json's text", fixtures[i]);
            CHECK(strcmp(rf->template_name, "llava_v1") == 0, "template %s", rf->template_name);
        }
        kevo_safetensors_free(f);
        kevo_runfolder_free(rf);
        free(stdout_text);
        free(errs);
    }
}

KEVO_TEST(cli_run_errors)
{
    const char *model = "tests/fixtures/tiny-f32";
    char image[1024];
    snprintf(image, sizeof image, "%s", "tests/data/oracle-engine/tiny-f32/color.png");
    struct {
        const char *args, *needle;
        int code;
    } cases[] = {
        {"run -m %s -i %s", "needs -m MODEL_DIR, -i IMAGE and -p PROMPT", 2},
        {"run -m %s -i %s -p hi -n 0", "--max-new expects a whole number", 2},
        {"run -m %s -i %s -p hi --threads -1", "--threads expects", 2},
        {"run -m %s -i %s -p hi --template vicuna", "vicuna", 2},
        {"run -m %s -i %s -p hi --image-mode stretch", "stretch", 2},
        {"run -m %s -i %s -p hi --compute fp8", "--compute expects f32 or bf16", 2},
        {"run -m %s -i %s -p hi --bogus", "unknown option '--bogus'", 2},
        {"run -m %s -i %s.missing -p hi", "color.png.missing", 1},
        {"run -m %s/nowhere -i %s -p hi", "not a directory", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[4096], *errs = NULL;
        snprintf(args, sizeof args, cases[i].args, model, image);
        snprintf(args + strlen(args), sizeof args - strlen(args), " -o '%s/out%zu'",
                 kevo_test_tmpdir(), i);
        int code = kevo_test_cli(NULL, &errs, "%s", args);
        CHECK(code == cases[i].code && kevo_test_contains(errs, cases[i].needle),
              "'%s': exit %d (want %d), stderr: %s", args, code, cases[i].code,
              errs ? errs : "");
        free(errs);
    }
    // A truncated image: a clear error and no run folder.
    char bad[1100], out[1100], *errs = NULL;
    size_t len;
    char *bytes = kevo_test_slurp(image, &len);
    snprintf(bad, sizeof bad, "%s/cut.png", kevo_test_tmpdir());
    snprintf(out, sizeof out, "%s/cut-run", kevo_test_tmpdir());
    kevo_test_write(bad, bytes, len / 2);
    free(bytes);
    int code = kevo_test_cli(NULL, &errs, "run -m %s -i '%s' -p hi -o '%s'", model, bad, out);
    FILE *f = fopen(out, "r");
    CHECK(code == 1 && kevo_test_contains(errs, "cut.png") && !f, "truncated image: exit %d, %s",
          code, errs ? errs : "");
    if (f)
        fclose(f);
    free(errs);
}
