// test_config.c — config.json / preprocessor_config.json / generation_config.json parsing,
// transformers' class defaults for sparse configs, and the refusals.
#include <stdio.h>
#include <string.h>

#include "model/config.h"
#include "test.h"

// Writes `text` as NAME in the test directory and returns the directory.
static const char *put(const char *name, const char *text)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", kevo_test_tmpdir(), name);
    kevo_test_write(path, text, strlen(text));
    return kevo_test_tmpdir();
}

// The published llava-hf/llava-1.5-7b-hf config.json (spec/llava.md §1.1).
static const char llava_7b[] =
    "{\"architectures\":[\"LlavaForConditionalGeneration\"],\"ignore_index\":-100,"
    "\"image_token_index\":32000,\"model_type\":\"llava\",\"pad_token_id\":32001,"
    "\"projector_hidden_act\":\"gelu\",\"text_config\":{\"_name_or_path\":\"lmsys/vicuna-7b-v1.5\","
    "\"architectures\":[\"LlamaForCausalLM\"],\"max_position_embeddings\":4096,"
    "\"model_type\":\"llama\",\"rms_norm_eps\":1e-05,\"torch_dtype\":\"float16\","
    "\"vocab_size\":32064},\"tie_word_embeddings\":false,\"torch_dtype\":\"float16\","
    "\"transformers_version\":\"4.36.0.dev0\",\"vision_config\":{\"hidden_size\":1024,"
    "\"image_size\":336,\"intermediate_size\":4096,\"model_type\":\"clip_vision_model\","
    "\"num_attention_heads\":16,\"num_hidden_layers\":24,\"patch_size\":14,"
    "\"projection_dim\":768,\"vocab_size\":32000},\"vision_feature_layer\":-2,"
    "\"vision_feature_select_strategy\":\"default\",\"vocab_size\":32064}";

KEVO_TEST(config_llava_7b_hub_file)
{
    kevo_config c;
    kevo_error err;
    if (!CHECK_OK(kevo_config_load(put("config.json", llava_7b), &c, &err), &err))
        return;
    CHECK(c.text_hidden == 4096 && c.text_intermediate == 11008 && c.text_layers == 32 &&
          c.text_heads == 32 && c.text_kv_heads == 32 && c.text_head_dim == 128,
          "LLaMA-7B dims from LlamaConfig defaults");
    CHECK(c.text_vocab == 32064 && c.text_max_positions == 4096, "vocab/positions");
    CHECK(c.rms_norm_eps == 1e-5f && c.rope_theta == 10000.0f, "eps %g theta %g",
          (double)c.rms_norm_eps, (double)c.rope_theta);
    CHECK(c.vision_hidden == 1024 && c.vision_layers == 24 && c.vision_heads == 16 &&
          c.image_size == 336 && c.patch_size == 14 && c.vision_gelu_exact == 0 &&
          c.vision_ln_eps == 1e-5f, "CLIP-L/336 dims");
    CHECK(c.feature_layer == 23 && c.image_tokens == 576 && c.image_token_id == 32000,
          "feature layer %d, image tokens %d", c.feature_layer, c.image_tokens);
    CHECK(c.bos_id == 1 && c.n_eos == 1 && c.eos_ids[0] == 2, "bos/eos");
    CHECK(c.projector_bias == 1 && c.tie_word_embeddings == 0, "projector bias, untied");
}

// LLaVA-NeXT's keys and the Mistral decoder's class defaults (configuration_llava_next.py,
// configuration_mistral.py).
KEVO_TEST(config_llava_next_and_mistral)
{
    kevo_config c;
    kevo_error err;
    const char *sparse = "{\"model_type\":\"llava_next\",\"text_config\":{\"model_type\":"
                         "\"mistral\"},\"vision_feature_layer\":[-2,-5]}";
    if (CHECK_OK(kevo_config_load(put("config.json", sparse), &c, &err), &err)) {
        CHECK(!strcmp(c.model_type, "llava_next") && !strcmp(c.text_model_type, "mistral"),
              "types %s / %s", c.model_type, c.text_model_type);
        CHECK(c.text_intermediate == 14336 && c.text_kv_heads == 8 && c.sliding_window == 4096 &&
              c.text_max_positions == 131072, "MistralConfig defaults: %d %d %d %d",
              c.text_intermediate, c.text_kv_heads, c.sliding_window, c.text_max_positions);
        CHECK(c.n_feature_layers == 2 && c.feature_layers[0] == 23 && c.feature_layers[1] == 20 &&
              c.feature_layer == 23, "feature layers %d: %d %d", c.n_feature_layers,
              c.feature_layers[0], c.feature_layers[1]);
        CHECK(c.n_grid_pinpoints == 5 && c.grid_pinpoints[3][0] == 1008 &&
              c.grid_pinpoints[3][1] == 336 && c.image_newline, "default pinpoints");
        // 1008 x 336 and 336 x 1008: 576 + 72 * (24 + 1) = 2376; 672 x 672: 576 + 48 * 49 = 2928
        CHECK(c.image_tokens == 2928, "most image positions %d", c.image_tokens);
    }
    const char *nulled = "{\"model_type\":\"llava_next\",\"text_config\":{\"model_type\":"
                         "\"mistral\",\"sliding_window\":null,\"rope_theta\":1000000.0}}";
    if (CHECK_OK(kevo_config_load(put("config.json", nulled), &c, &err), &err))
        CHECK(c.sliding_window == 0 && c.rope_theta == 1e6f, "null window, theta %g",
              (double)c.rope_theta);
    if (CHECK_OK(kevo_config_load(put("config.json", "{\"model_type\":\"llava\"}"), &c, &err),
                 &err))
        CHECK(c.sliding_window == 0 && c.n_feature_layers == 1 && !c.image_newline &&
              !strcmp(c.text_model_type, "llama"), "LLaMA: no window, one feature layer");
}

KEVO_TEST(config_sparse_defaults)
{
    kevo_config c;
    kevo_error err;
    // No sub-configs at all: LlamaConfig() and LLaVA's own CLIP-L/336 vision default.
    if (CHECK_OK(kevo_config_load(put("config.json", "{\"model_type\":\"llava\"}"), &c, &err),
                 &err)) {
        CHECK(c.text_hidden == 4096 && c.text_vocab == 32000 && c.text_max_positions == 2048 &&
              c.rms_norm_eps == 1e-6f, "LlamaConfig defaults");
        CHECK(c.vision_hidden == 1024 && c.image_size == 336 && c.vision_layers == 24 &&
              c.image_tokens == 576, "LLaVA's default vision config");
    }
    // A present but empty vision_config takes CLIPVisionConfig's own defaults (ViT-B/32).
    if (CHECK_OK(kevo_config_load(put("config.json", "{\"model_type\":\"llava\",\"vision_config\":"
                                      "{},\"text_config\":{\"num_key_value_heads\":8}}"),
                                  &c, &err), &err)) {
        CHECK(c.vision_hidden == 768 && c.vision_layers == 12 && c.image_size == 224 &&
              c.patch_size == 32 && c.image_tokens == 49 && c.feature_layer == 11,
              "CLIPVisionConfig defaults: %d %d %d %d", c.vision_hidden, c.vision_layers,
              c.image_size, c.patch_size);
        CHECK(c.text_kv_heads == 8, "kv heads %d", c.text_kv_heads);
    }
    // "full" keeps the class token; a positive feature layer indexes hidden states directly.
    if (CHECK_OK(kevo_config_load(put("config.json", "{\"model_type\":\"llava\","
                                      "\"vision_feature_select_strategy\":\"full\","
                                      "\"vision_feature_layer\":5}"), &c, &err), &err))
        CHECK(c.image_tokens == 577 && c.feature_layer == 5, "full strategy");
    // generation_config.json with a list of EOS ids.
    put("generation_config.json", "{\"bos_token_id\":1,\"eos_token_id\":[2,7]}");
    if (CHECK_OK(kevo_config_load(put("config.json", "{\"model_type\":\"llava\"}"), &c, &err),
                 &err))
        CHECK(c.n_eos == 2 && c.eos_ids[0] == 2 && c.eos_ids[1] == 7, "eos list");
}

KEVO_TEST(config_refusals)
{
    struct {
        const char *label, *json, *needle;
    } cases[] = {
        {"zero heads", "{\"model_type\":\"llava\",\"text_config\":{\"num_attention_heads\":0}}",
         "text_config.num_attention_heads = 0 is outside"},
        {"indivisible hidden", "{\"model_type\":\"llava\",\"text_config\":{\"hidden_size\":100,"
         "\"num_attention_heads\":3}}", "hidden_size 100 is not divisible by num_attention_heads 3"},
        {"indivisible vision", "{\"model_type\":\"llava\",\"vision_config\":{\"hidden_size\":100,"
         "\"num_attention_heads\":7}}", "vision_config: hidden_size 100 is not divisible"},
        {"missing model_type", "{\"text_config\":{}}", "model_type is missing and has no default"},
        {"unknown model_type", "{\"model_type\":\"idefics3\"}", "model_type \"idefics3\" is not "
         "supported"},
        {"qwen2-vl without m-rope", "{\"model_type\":\"qwen2_vl\"}", "mrope_section"},
        {"qwen2-vl sliding window", "{\"model_type\":\"qwen2_vl\",\"use_sliding_window\":true,"
         "\"rope_scaling\":{\"type\":\"mrope\",\"mrope_section\":[16,24,24]}}",
         "use_sliding_window"},
        {"unknown text model", "{\"model_type\":\"llava\",\"text_config\":{\"model_type\":"
         "\"gemma\"}}", "text_config.model_type = \"gemma\" is not supported"},
        {"feature layer list", "{\"model_type\":\"llava_next\",\"vision_feature_layer\":"
         "[-2,30]}", "vision_feature_layer 30 is outside"},
        {"empty layer list", "{\"model_type\":\"llava\",\"vision_feature_layer\":[]}",
         "vision_feature_layer lists 0 layers"},
        {"next full", "{\"model_type\":\"llava_next\",\"vision_feature_select_strategy\":"
         "\"full\"}", "cannot be packed"},
        {"pinpoint tiles", "{\"model_type\":\"llava_next\",\"image_grid_pinpoints\":"
         "[[336,672],[400,336]]}", "image_grid_pinpoints[1][0] = 400 (a height) is not a multiple of "
         "vision_config.image_size 336"},
        {"pinpoint form", "{\"model_type\":\"llava_next\",\"image_grid_pinpoints\":[[336]]}",
         "image_grid_pinpoints[0] is not a [height, width] list"},
        {"window", "{\"model_type\":\"llava_next\",\"text_config\":{\"model_type\":"
         "\"mistral\",\"sliding_window\":0}}", "text_config.sliding_window = 0 is outside"},
        {"kv heads", "{\"model_type\":\"llava\",\"text_config\":{\"num_key_value_heads\":5}}",
         "not a multiple of num_key_value_heads 5"},
        {"rope scaling", "{\"model_type\":\"llava\",\"text_config\":{\"rope_scaling\":{\"type\":"
         "\"linear\",\"factor\":2}}}", "rope_scaling"},
        {"wrong type", "{\"model_type\":\"llava\",\"text_config\":{\"hidden_size\":\"big\"}}",
         "text_config.hidden_size must be an integer"},
        {"feature layer", "{\"model_type\":\"llava\",\"vision_feature_layer\":-40}",
         "vision_feature_layer -40 is outside"},
        {"seq length", "{\"model_type\":\"llava\",\"image_seq_length\":100}",
         "image_seq_length 100 disagrees with the 576 features"},
        {"strategy", "{\"model_type\":\"llava\",\"vision_feature_select_strategy\":\"cls\"}",
         "vision_feature_select_strategy"},
        {"projector act", "{\"model_type\":\"llava\",\"projector_hidden_act\":\"relu\"}",
         "projector_hidden_act = \"relu\""},
        {"patch", "{\"model_type\":\"llava\",\"vision_config\":{\"image_size\":100,"
         "\"patch_size\":14}}", "image_size 100 is not a multiple of patch_size 14"},
        {"attention bias", "{\"model_type\":\"llava\",\"text_config\":{\"attention_bias\":true}}",
         "attention_bias = true"},
        {"absurd layers", "{\"model_type\":\"llava\",\"text_config\":{\"num_hidden_layers\":"
         "100000000}}", "num_hidden_layers = 100000000 is outside"},
        {"malformed", "{\"model_type\":\"llava\",\n \"text_config\": {,}}", "invalid JSON at line 2"},
        {"not an object", "[1]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kevo_config c;
        kevo_error err = {0};
        kevo_status st = kevo_config_load(put("config.json", cases[i].json), &c, &err);
        CHECK(st != KEVO_OK, "%s: accepted", cases[i].label);
        CHECK(kevo_test_contains(err.msg, cases[i].needle), "%s: message '%s' lacks '%s'",
              cases[i].label, err.msg, cases[i].needle);
        CHECK(kevo_test_contains(err.msg, "config.json"), "%s: message '%s' does not name the "
              "file", cases[i].label, err.msg);
    }
}

KEVO_TEST(config_preprocessor)
{
    kevo_image_config ic;
    kevo_error err;
    const char *llava_hf =
        "{\"crop_size\":{\"height\":336,\"width\":336},\"do_center_crop\":true,"
        "\"do_convert_rgb\":true,\"do_normalize\":true,\"do_rescale\":true,\"do_resize\":true,"
        "\"image_mean\":[0.48145466,0.4578275,0.40821073],\"image_processor_type\":"
        "\"CLIPImageProcessor\",\"image_std\":[0.26862954,0.26130258,0.27577711],\"resample\":3,"
        "\"rescale_factor\":0.00392156862745098,\"size\":{\"shortest_edge\":336}}";
    if (CHECK_OK(kevo_image_config_load(put("preprocessor_config.json", llava_hf), &ic, &err),
                 &err))
        CHECK(ic.shortest_edge == 336 && ic.crop_w == 336 && ic.crop_h == 336 &&
              ic.resample == 3 && ic.mean[0] == 0.48145466 && ic.std[2] == 0.27577711,
              "llava-hf preprocessor");
    // Legacy integer sizes and class defaults.
    if (CHECK_OK(kevo_image_config_load(put("preprocessor_config.json",
                                            "{\"size\":224,\"crop_size\":224}"), &ic, &err), &err))
        CHECK(ic.shortest_edge == 224 && ic.crop_w == 224 && ic.do_rescale &&
              ic.rescale_factor == 1.0 / 255.0 && ic.mean[1] == 0.4578275, "legacy ints");
    kevo_status st = kevo_image_config_load(put("preprocessor_config.json",
                                                "{\"image_std\":[0.2,0,0.3]}"), &ic, &err);
    CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, "image_std[1] is zero"),
          "zero std: %s", err.msg);
    st = kevo_image_config_load(put("preprocessor_config.json", "{\"image_mean\":[1,2]}"), &ic,
                                &err);
    CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, "list of 3 numbers"),
          "short mean: %s", err.msg);
}
