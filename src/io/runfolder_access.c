// runfolder_access.c — what a caller reads of a loaded run folder, and the image's part of a
// run's identity (kevo.h, kevo/runfolder.h).
#include "kevo.h"

#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "io/runfolder.h"

const char *kevo_runfolder_dir(const kevo_runfolder *rf)
{
    return rf->dir;
}

const char *kevo_runfolder_model_dir(const kevo_runfolder *rf)
{
    return rf->model_dir;
}

const char *kevo_runfolder_question(const kevo_runfolder *rf)
{
    return rf->question;
}

const char *kevo_runfolder_text(const kevo_runfolder *rf)
{
    return rf->text;
}

int kevo_runfolder_n_steps(const kevo_runfolder *rf)
{
    return rf->n_steps;
}

const char *kevo_runfolder_piece(const kevo_runfolder *rf, int step)
{
    return rf->pieces[step];
}

kevo_status kevo_runfolder_rename(kevo_runfolder *rf, const char *dir, kevo_error *err)
{
    char *name = strdup(dir);
    if (!name)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    free(rf->dir);
    rf->dir = name;
    return KEVO_OK;
}

kevo_status kevo_image_digest(const char *image_path, char out[65], kevo_error *err)
{
    return kevo_file_sha256(image_path, out, err);
}
