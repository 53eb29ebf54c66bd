// runfolder_states.c — the hidden-state tensors of a run folder (hidden, image_hidden) as they
// are stored (F32, or F16 with --store f16) and read back as F32.
//
// F16 is IEEE binary16 rounded to nearest even (kevo_f32_to_f16): a relative error of at most
// 2^-11 (4.9e-4) for |x| >= 2^-14, an absolute error of at most 2^-25 below. A value past F16's
// range (65504) would become infinite, so such a run is refused with the tensor and the element
// named rather than stored wrong. Reading widens F16 exactly into an owned F32 copy; an F32
// tensor stays mapped.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "base/convert.h"

#define F16_MAX 65504.0f

kevo_status kevo_states_store(const char *name, const float *src, size_t n, kevo_dtype dtype,
                              void **owned, const void **data, kevo_error *err)
{
    *owned = NULL;
    *data = src;
    if (dtype == KEVO_DTYPE_F32)
        return KEVO_OK;
    if (dtype != KEVO_DTYPE_F16)
        return kevo_fail(err, KEVO_ERR_ARG, "hidden states are stored as F32 or F16, not %s",
                         kevo_dtype_name(dtype));
    uint16_t *h = malloc(n * sizeof *h);
    if (!h)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory storing %s as F16", name);
    for (size_t i = 0; i < n; i++) {
        // Round-to-nearest-even maps values just above 65504 (below 65520) to 65504 itself.
        if (!(fabsf(src[i]) < 65520.0f)) {
            free(h);
            return kevo_fail(err, KEVO_ERR_ARG, "%s element %zu is %g, past F16's range (%g): "
                             "store this run as F32 (--store f32)", name, i, (double)src[i],
                             (double)F16_MAX);
        }
        h[i] = kevo_f32_to_f16(src[i]);
    }
    *owned = h;
    *data = h;
    return KEVO_OK;
}

kevo_status kevo_states_read(const kevo_safetensors *file, const char *path, const char *name,
                             const int64_t shape[3], const char *const axes[3],
                             const float **data, float **owned, kevo_error *err)
{
    *data = NULL;
    *owned = NULL;
    const kevo_tensor *t = kevo_safetensors_find(file, name);
    if (!t || (t->dtype != KEVO_DTYPE_F32 && t->dtype != KEVO_DTYPE_F16) || t->n_dims != 3)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: no F32 or F16 3-D tensor '%s'", path, name);
    if (t->shape[0] != shape[0] || t->shape[1] != shape[1] || t->shape[2] != shape[2])
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: '%s' has shape [%lld, %lld, %lld] but "
                         "run.json describes [%lld, %lld, %lld]", path, name,
                         (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2],
                         (long long)shape[0], (long long)shape[1], (long long)shape[2]);
    const float *x = t->data;
    if (t->dtype == KEVO_DTYPE_F16) {
        if (!(*owned = malloc(t->n_elems * sizeof **owned)))
            return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory widening '%s' (%llu "
                             "values)", path, name, (unsigned long long)t->n_elems);
        kevo_convert_to_f32(*owned, t->data, KEVO_DTYPE_F16, t->n_elems);
        x = *owned;
    }
    size_t per_row = (size_t)shape[1] * (size_t)shape[2], dim = (size_t)shape[2];
    for (size_t i = 0; i < t->n_elems; i++)
        if (!isfinite(x[i])) {
            kevo_status st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: '%s' value %g at %s %zu, %s %zu, "
                                       "%s %zu (byte %llu) is not finite", path, name,
                                       (double)x[i], axes[0], i / per_row, axes[1],
                                       i % per_row / dim, axes[2], i % dim,
                                       (unsigned long long)(t->file_offset +
                                                            kevo_dtype_size(t->dtype) * i));
            free(*owned);
            *owned = NULL;
            return st;
        }
    *data = x;
    return KEVO_OK;
}
