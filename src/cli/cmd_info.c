// cmd_info.c — `kevo info MODEL_DIR`: what a model folder holds and what running it costs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: kevo info MODEL_DIR [--mmproj FILE] [-n MAX_NEW] [--prompt N] [--image-states SPEC]\n"
    "\n"
    "Prints the architecture, every dimension, the vocabulary, dtypes, parameter count, bytes on\n"
    "disk and the memory a run needs (weights are memory-mapped; the rest is one allocation).\n"
    "MODEL_DIR is a hub folder or a GGUF model (a folder with the text model and its\n"
    "mmproj*.gguf, or the text .gguf; docs/gguf.md).\n"
    "\n"
    "  --mmproj FILE     the text .gguf's vision file, named apart (anywhere)\n"
    "  -n, --max-new N   new tokens the memory estimate allows for (default 256)\n"
    "  --prompt N        text tokens around the image in the estimate (default 64)\n"
    "  --image-states SPEC  include the image recorder of `kevo run --image-states SPEC`\n"
    "                    (see `kevo run --help`) in the estimate\n";

static void print_model(const kevo_model *m, int n_text, int max_new, int n_image_states)
{
    const kevo_config *c = kevo_model_config(m);
    const kevo_tokenizer *tok = kevo_model_tokenizer(m);
    kevo_weights_info w = kevo_model_weights_info(m);
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];

    kevo_family_info fam = kevo_model_family(m);
    printf("model         %s\n", kevo_model_dir(m));
    if (kevo_model_mmproj(m))
        printf("mmproj        %s\n", kevo_model_mmproj(m));
    printf("family        %s (model_type %s): %s decoder; template %s\n", fam.name,
           fam.model_type, fam.decoder, kevo_template_name(kevo_model_template(m)));
    printf("image path    %s; %s\n", fam.image_processor, fam.vision_path);
    printf("vision        %s\n", fam.vision);
    printf("image         %s\n", fam.image);
    printf("projector     %s\n", fam.projector);
    char window[96] = "";
    int k = 0;
    if (c->sliding_window)
        k = snprintf(window, sizeof window, ", sliding window %d", c->sliding_window);
    if (c->attention_bias)
        k += snprintf(window + k, sizeof window - (size_t)k, ", q/k/v biases");
    if (c->n_mrope)
        snprintf(window + k, sizeof window - (size_t)k, ", M-RoPE pairs %d/%d/%d (t/h/w)",
                 c->mrope_section[0], c->mrope_section[1], c->mrope_section[2]);
    printf("language      %s, width %d, %d layers, %d heads x %d, %d key/value heads%s, FFN "
           "%d, RMSNorm eps %g, RoPE theta %g, %d positions%s\n", fam.decoder,
           c->text_hidden, c->text_layers, c->text_heads, c->text_head_dim, c->text_kv_heads,
           c->text_kv_heads < c->text_heads ? " (grouped-query)" : "", c->text_intermediate,
           (double)c->rms_norm_eps, (double)c->rope_theta, c->text_max_positions, window);
    int n_tokens = kevo_tokenizer_n_tokens(tok);
    printf("vocabulary    %d tokens + %d padding rows = %d rows in embed_tokens and lm_head%s "
           "(tokenizer %s); image token %d, bos %d, eos",
           n_tokens, c->text_vocab - n_tokens, c->text_vocab,
           c->tie_word_embeddings ? ", tied" : "",
           kevo_path_base(kevo_tokenizer_path(tok)), c->image_token_id, c->bos_id);
    for (int i = 0; i < c->n_eos; i++)
        printf("%s%d", i ? "," : " ", c->eos_ids[i]);
    if (c->pad_id >= 0)
        printf(", pad %d", c->pad_id);
    printf("\n");

    printf("dtypes       ");
    for (int d = 0; d < KEVO_DTYPE_COUNT; d++)
        if (w.dtype_counts[d])
            printf(" %s x %d", kevo_dtype_name((kevo_dtype)d), w.dtype_counts[d]);
    printf(" tensors\n");
    printf("parameters    %llu (vision %llu, projector %llu, language %llu)\n",
           (unsigned long long)w.n_params, (unsigned long long)w.vision_params,
           (unsigned long long)w.projector_params, (unsigned long long)w.text_params);
    printf("disk          %s in %d %s file%s\n", cli_bytes(b1, sizeof b1, (double)w.file_bytes),
           w.n_files, w.file_format, w.n_files == 1 ? "" : "s");

    kevo_memory_estimate p =
        kevo_model_memory(m, c->image_tokens + n_text, max_new, n_image_states, 0);
    printf("memory        %s to run a %d-position prompt and %d new tokens with %d threads: "
           "weights %s (mapped), KV cache %s, activations %s, matrix-product scratch %s, "
           "recorder %s",
           cli_bytes(b1, sizeof b1, (double)(w.bytes_used + p.total)), p.n_prompt, max_new,
           p.n_threads, cli_bytes(b2, sizeof b2, (double)w.bytes_used),
           cli_bytes(b3, sizeof b3, (double)p.kv_bytes),
           cli_bytes(b4, sizeof b4, (double)(p.vision_bytes + p.text_bytes)),
           cli_bytes(b5, sizeof b5, (double)p.scratch_bytes),
           cli_bytes(b6, sizeof b6, (double)p.record_bytes));
    if (n_image_states)
        printf(", image recorder %s (%d indices)",
               cli_bytes(b1, sizeof b1, (double)p.image_record_bytes), n_image_states);
    // The image recorder at every index, in memory (F32) and on disk (--store f32 or f16).
    double every = (double)c->image_tokens * (c->text_layers + 1) * c->text_hidden;
    printf("\nimage states  %s in memory and in hidden.safetensors for every index of the %s%d "
           "image positions (%d x %d x %d F32; %s with --store f16)\n",
           cli_bytes(b2, sizeof b2, every * 4),
           c->n_grid_pinpoints || c->spatial_merge_size ? "at most " : "",
           c->image_tokens, c->image_tokens,
           c->text_layers + 1, c->text_hidden, cli_bytes(b3, sizeof b3, every * 2));
}

int cmd_info(int argc, char **argv)
{
    int max_new = 256, n_text = 64;
    const char *image_states = NULL, *mmproj = NULL;
    const cli_option opts[] = {
        CLI_OPT_STRING("image-states", 0, &image_states),
        CLI_OPT_STRING("mmproj", 0, &mmproj),
        CLI_OPT_INT("max-new", 'n', &max_new, 1, 1 << 20),
        CLI_OPT_INT("prompt", 0, &n_text, 0, 1 << 20),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("info", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc - 1)
        return cli_usage_error("info", "expects one MODEL_DIR");

    kevo_error err;
    kevo_model *m;
    if (kevo_model_load_source(&(kevo_model_source){argv[optind], mmproj}, &m, &err) != KEVO_OK)
        return cli_report(&err);
    int *states = NULL, n_states = 0;
    if (image_states && kevo_image_states_parse(image_states, kevo_model_config(m)->text_layers,
                                                &states, &n_states, &err) != KEVO_OK) {
        kevo_model_free(m);
        return cli_report(&err);
    }
    print_model(m, n_text, max_new, n_states);
    free(states);
    kevo_model_free(m);
    return EXIT_OK;
}
