// json.h — loading JSON files (cJSON) and reading typed keys with defaults and clear errors.
//
// Messages name the file and the dotted key ("config.json: text_config.num_attention_heads must
// be an integer"). `where` is the file and section: "dir/config.json:" for top-level keys,
// "dir/config.json: text_config" inside a section.
#ifndef KEVO_IO_JSON_H
#define KEVO_IO_JSON_H

#include <cjson/cJSON.h>

#include "kevo.h"

// Reads and parses a JSON file (at most max_bytes). On a syntax error the message gives the line
// and column. The caller frees *out with cJSON_Delete.
kevo_status kevo_json_load(const char *path, size_t max_bytes, cJSON **out, kevo_error *err);

// Writes root (consumed: deleted, also on failure; NULL is an out-of-memory failure) to path as
// pretty JSON ending with a newline, atomically (kevo_write_file).
kevo_status kevo_json_save(cJSON *root, const char *path, kevo_error *err);

// Parses JSON text of `len` bytes; `name` names the source in messages.
kevo_status kevo_json_parse(const char *text, size_t len, const char *name, cJSON **out,
                            kevo_error *err);

// Writes "<where> key" (top level) or "<where>.key" (inside a section) into buf; returns buf.
const char *kevo_json_key(char *buf, size_t size, const char *where, const char *key);

// Typed reads of obj[key]. When the key is absent or null: use `def` if has_default, else fail
// with "missing key". A present value of the wrong type always fails.
kevo_status kevo_json_int(const cJSON *obj, const char *key, int has_default, long long def,
                          long long *out, const char *where, kevo_error *err);
kevo_status kevo_json_num(const cJSON *obj, const char *key, int has_default, double def,
                          double *out, const char *where, kevo_error *err);
kevo_status kevo_json_bool(const cJSON *obj, const char *key, int has_default, int def, int *out,
                           const char *where, kevo_error *err);
// *out is borrowed from obj (or is `def`).
kevo_status kevo_json_str(const cJSON *obj, const char *key, int has_default, const char *def,
                          const char **out, const char *where, kevo_error *err);

#endif
