// test_outputs.c — output folders are never destroyed and never half-written: what kevo refuses
// to replace (before loading a model), what a kill at any point leaves (the old complete folder
// or the new one, nothing a glob sees), and errors that name the real destination.
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/outdir.h"
#include "io/outputs.h"
#include "io/runfolder.h"
#include "test.h"

static char model[1024], image[1024];

// kevo_test_tmp(name) copied into buf (kevo_test_tmp reuses its buffers).
static const char *tmp_path(char *buf, const char *name)
{
    snprintf(buf, 1200, "%s", kevo_test_tmp(name));
    return buf;
}

static void paths(void)
{
    snprintf(model, sizeof model, "%s", kevo_test_data("fixtures/tiny-f32"));
    snprintf(image, sizeof image, "%s", kevo_test_data("oracle/engine/tiny-f32/color.png"));
}

// Starts `$KEVO_BIN ARGS` (through sh, which execs it, so the PID is kevo's) with stdout and
// stderr into this test's folder; kill_at sets KEVO_TEST_KILL_AT, fsize > 0 limits the size of
// any file it writes (RLIMIT_FSIZE; root cannot bypass it).
static pid_t spawn(int kill_at, long fsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pid_t spawn(int kill_at, long fsize, const char *fmt, ...)
{
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    const char *bin = getenv("KEVO_BIN") ? getenv("KEVO_BIN") : "build/kevo";
    snprintf(cmd, sizeof cmd, "exec '%s' %s >'%s/.spawn.out' 2>'%s/.spawn.err'", bin, args,
             kevo_test_tmpdir(), kevo_test_tmpdir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char n[32];
        snprintf(n, sizeof n, "%d", kill_at);
        if (kill_at > 0)
            setenv("KEVO_TEST_KILL_AT", n, 1);
        if (fsize > 0) {
            struct rlimit r = {(rlim_t)fsize, (rlim_t)fsize};
            signal(SIGXFSZ, SIG_IGN);   // a write past the limit fails with EFBIG instead
            setrlimit(RLIMIT_FSIZE, &r);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

// Waits for pid; returns its exit code, or -SIGNAL when a signal ended it.
static int reap(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1000;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static char *last_stderr(void)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/.spawn.err", kevo_test_tmpdir());
    return kevo_test_slurp(path, NULL);
}

// The entries of dir that a glob sees (not starting with '.') and kevo's hidden ones.
static void count_entries(const char *dir, int *visible, int *hidden_kevo, char *names,
                          size_t size)
{
    *visible = *hidden_kevo = 0;
    if (names)
        names[0] = '\0';
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_name[0] != '.')
            (*visible)++;
        else if (!strncmp(e->d_name, ".kevo-", 6))
            (*hidden_kevo)++;
        else
            continue;
        if (names && strlen(names) + strlen(e->d_name) + 2 < size)
            strcat(strcat(names, " "), e->d_name);
    }
    if (d)
        closedir(d);
}

// Loads dir as a run folder; returns its step count and copies its question, or -1.
static int run_steps(const char *dir, char *question, size_t size)
{
    kevo_error err;
    kevo_runfolder *rf = NULL;
    if (kevo_runfolder_load(dir, &rf, &err) != KEVO_OK)
        return -1;
    int n = rf->n_steps;
    snprintf(question, size, "%s", rf->question);
    kevo_runfolder_free(rf);
    return n;
}

static int make_run(const char *dir, const char *prompt, int n)
{
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "run -m '%s' -i '%s' -p '%s' -n %d -o '%s' -q", model,
                             image, prompt, n, dir);
    CHECK(code == 0, "run into %s: exit %d: %s", dir, code, errs ? errs : "");
    free(errs);
    return code == 0;
}

KEVO_TEST(outputs_foreign_folders_survive)
{
    paths();
    char *errs = NULL;
    // A folder that merely holds a file named run.json is not a run folder.
    char foreign_buf[1200];
    const char *foreign = tmp_path(foreign_buf, "foreign");
    mkdir(foreign, 0777);
    kevo_test_write(kevo_test_tmp("foreign/run.json"), "{\"name\": \"my data\"}\n", 20);
    kevo_test_write(kevo_test_tmp("foreign/data.csv"), "1,2\n", 4);
    int code = kevo_test_cli(NULL, &errs, "run -m '%s' -i '%s' -p hi -n 2 -o '%s' -q", model,
                             image, foreign);
    CHECK(code != 0 && kevo_test_contains(errs, "not a kevo run folder") &&
          kevo_file_exists(kevo_test_tmp("foreign/data.csv")) &&
          kevo_file_exists(kevo_test_tmp("foreign/run.json")),
          "a folder with a foreign run.json: exit %d, %s", code, errs ? errs : "");
    free(errs);

    // A real run folder with a file of the user's: refused, everything kept.
    char mine_buf[1200];
    const char *mine = tmp_path(mine_buf, "mine");
    if (!make_run(mine, "first", 2))
        return;
    kevo_test_write(kevo_test_tmp("mine/notes.txt"), "look at layer 3\n", 16);
    code = kevo_test_cli(NULL, &errs, "run -m '%s' -i '%s' -p second -n 3 -o '%s' -q", model,
                         image, mine);
    char q[256] = "";
    int steps = run_steps(mine, q, sizeof q);
    CHECK(code == 2 && kevo_test_contains(errs, "notes.txt") &&
          kevo_file_exists(kevo_test_tmp("mine/notes.txt")) && steps == 2 && !strcmp(q, "first"),
          "a run folder with notes.txt: exit %d, %d steps of '%s', %s", code, steps, q,
          errs ? errs : "");
    free(errs);

    // ... also in its analysis/ folder.
    char mine2_buf[1200];
    const char *mine2 = tmp_path(mine2_buf, "mine2");
    if (!make_run(mine2, "first", 2))
        return;
    code = kevo_test_cli(NULL, &errs, "analyze '%s' --no-tsne", mine2);
    CHECK(code == 0, "analyze: exit %d: %s", code, errs ? errs : "");
    free(errs);
    kevo_test_write(kevo_test_tmp("mine2/analysis/plot.py"), "#\n", 2);
    code = kevo_test_cli(NULL, &errs, "run -m '%s' -i '%s' -p second -n 3 -o '%s' -q", model,
                         image, mine2);
    CHECK(code == 2 && kevo_test_contains(errs, "plot.py") &&
          kevo_file_exists(kevo_test_tmp("mine2/analysis/plot.py")) &&
          kevo_file_exists(kevo_test_tmp("mine2/analysis/report.html")),
          "analysis/ with plot.py: exit %d, %s", code, errs ? errs : "");
    free(errs);
    // ... and `kevo analyze` itself refuses to replace it.
    code = kevo_test_cli(NULL, &errs, "analyze '%s' --no-tsne", mine2);
    CHECK(code == 2 && kevo_test_contains(errs, "plot.py") &&
          kevo_file_exists(kevo_test_tmp("mine2/analysis/plot.py")),
          "analyze over plot.py: exit %d, %s", code, errs ? errs : "");
    free(errs);

    // A clean run folder (with its analysis) is replaced whole: the stale analysis goes too.
    remove(kevo_test_tmp("mine2/analysis/plot.py"));
    code = kevo_test_cli(NULL, &errs, "run -m '%s' -i '%s' -p second -n 3 -o '%s' -q", model,
                         image, mine2);
    steps = run_steps(mine2, q, sizeof q);
    CHECK(code == 0 && steps == 3 && !strcmp(q, "second") &&
          !kevo_dir_exists(kevo_test_tmp("mine2/analysis")),
          "replacing a clean run folder: exit %d, %d steps, %s", code, steps, errs ? errs : "");
    free(errs);
}

// Every refusal comes before the model is loaded: the model given does not exist, and the error
// is about the destination.
KEVO_TEST(outputs_refused_before_the_model_loads)
{
    paths();
    char real_buf[1200];
    const char *real = tmp_path(real_buf, "real");
    if (!make_run(real, "first", 2))
        return;
    kevo_test_write(kevo_test_tmp("afile"), "x", 1);
    symlink(real, kevo_test_tmp("link"));
    mkdir(kevo_test_tmp("stuff"), 0777);
    kevo_test_write(kevo_test_tmp("stuff/a.txt"), "x", 1);
    char proc_dest[64];
    snprintf(proc_dest, sizeof proc_dest, "/proc/kevo-test-%ld/out", (long)getpid());
    struct {
        const char *dest, *needle, *needle2;
    } cases[] = {
        {"afile", "is not a folder", "afile"},
        {"link", "symbolic link", "link"},
        {"stuff", "not a kevo run folder", "stuff"},
        {"afile/sub/out", "Not a directory", "afile/sub"},   // a file on the path
        {proc_dest, "No such file or directory", "/proc/kevo-test-"},   // uncreatable parent
        {"/proc/kevo-out", "cannot create the output folder in /proc", "/proc/kevo-out"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *errs = NULL, dest[1200];
        snprintf(dest, sizeof dest, "%s", cases[i].dest[0] == '/' ? cases[i].dest
                                                                  : kevo_test_tmp(cases[i].dest));
        int code = kevo_test_cli(NULL, &errs, "run -m '%s/no-such-model' -i '%s' -p hi -o '%s'",
                                 kevo_test_tmpdir(), image, dest);
        CHECK(code != 0 && kevo_test_contains(errs, cases[i].needle) &&
              kevo_test_contains(errs, cases[i].needle2) &&
              !kevo_test_contains(errs, "no-such-model"),
              "-o %s: exit %d, stderr: %s", dest, code, errs ? errs : "");
        free(errs);
    }
    struct stat st;
    char q[64];
    CHECK(lstat(kevo_test_tmp("link"), &st) == 0 && S_ISLNK(st.st_mode) &&
          run_steps(real, q, sizeof q) == 2 && kevo_file_exists(kevo_test_tmp("afile")) &&
          kevo_file_exists(kevo_test_tmp("stuff/a.txt")), "a refused destination changed");
    // kevo analyze: its -o destination too.
    char *errs = NULL;
    char stuff[1200];
    snprintf(stuff, sizeof stuff, "%s", kevo_test_tmp("stuff"));
    int code = kevo_test_cli(NULL, &errs, "analyze '%s' -m '%s/no-such-model' -o '%s'", real,
                             kevo_test_tmpdir(), stuff);
    CHECK(code != 0 && kevo_test_contains(errs, "not a kevo analysis folder") &&
          kevo_file_exists(kevo_test_tmp("stuff/a.txt")), "analyze -o stuff: exit %d, %s", code,
          errs ? errs : "");
    free(errs);
}

// A write that fails (any file is limited to 3000 bytes; hidden.safetensors needs 5256) names
// the file the user asked for, keeps the old run, and leaves nothing beside it.
KEVO_TEST(outputs_write_failure_names_the_destination)
{
    paths();
    char dir_buf[1200], out_buf[1200];
    const char *dir = tmp_path(dir_buf, "runs");
    mkdir(dir, 0777);
    const char *out = tmp_path(out_buf, "runs/flower");
    if (!make_run(out, "first", 2))
        return;
    int code = reap(spawn(0, 3000, "run -m '%s' -i '%s' -p second -n 4 -o '%s' -q", model, image,
                          out));
    char *errs = last_stderr(), want[1300], q[64], names[512];
    snprintf(want, sizeof want, "%s/hidden.safetensors", out);
    CHECK(code == 1 && kevo_test_contains(errs, want) && !kevo_test_contains(errs, ".kevo-tmp"),
          "exit %d, stderr %s (wants %s)", code, errs ? errs : "", want);
    free(errs);
    int visible, hidden;
    count_entries(dir, &visible, &hidden, names, sizeof names);
    CHECK(run_steps(out, q, sizeof q) == 2 && visible == 1 && hidden == 0,
          "after the failure: %d visible, %d kevo entries:%s", visible, hidden, names);

    // The tables of kevo analyze go through the atomic file writer: its "write failed" has the
    // system's reason and the real name. The old analysis stays whole.
    char *before = NULL, *after = NULL;
    code = kevo_test_cli(NULL, &errs, "analyze '%s' --no-tsne", out);
    free(errs);
    snprintf(want, sizeof want, "%s/analysis/heatmap.csv", out);
    before = kevo_test_slurp(want, NULL);
    code = reap(spawn(0, 1000, "analyze '%s' --no-tsne --rows 1", out));
    errs = last_stderr();
    after = kevo_test_slurp(want, NULL);
    snprintf(want, sizeof want, "%s/analysis/", out);
    CHECK(code == 1 && kevo_test_contains(errs, want) &&
          kevo_test_contains(errs, ": write failed: File too large") &&
          !kevo_test_contains(errs, ".kevo-tmp"),
          "analyze under a 1000-byte limit: exit %d, %s", code, errs ? errs : "");
    CHECK(before && after && !strcmp(before, after), "the old heatmap.csv changed");
    count_entries(out, &visible, &hidden, names, sizeof names);
    CHECK(hidden == 0 && visible == 3, "in the run folder:%s", names);
    free(errs);
    free(before);
    free(after);
}

// After any kill of `kevo run` replacing a run folder: the old run or the new one, whole, and no
// other name a glob sees; the next run cleans what the killed one left.
static void check_invariant(const char *dir, const char *out, const char *label)
{
    char q[64] = "", names[512];
    int visible, hidden, steps = run_steps(out, q, sizeof q);
    count_entries(dir, &visible, &hidden, names, sizeof names);
    CHECK(visible == 1 && ((steps == 2 && !strcmp(q, "old")) || (steps == 4 && !strcmp(q, "new"))),
          "%s: %d steps of '%s', entries:%s", label, steps, q, names);
}

KEVO_TEST(outputs_kill_at_every_step)
{
    paths();
    char dir_buf[1200], out_buf[1200];
    const char *dir = tmp_path(dir_buf, "runs"), *out = tmp_path(out_buf, "runs/flower");
    mkdir(dir, 0777);
    if (!make_run(out, "old", 2))
        return;
    int killed = 0, n;
    for (n = 1; n < 40; n++) {
        int code = reap(spawn(n, 0, "run -m '%s' -i '%s' -p new -n 4 -o '%s' -q", model, image,
                              out));
        char label[64];
        snprintf(label, sizeof label, "killed at step %d", n);
        if (code != -SIGKILL) {
            CHECK(code == 0, "step %d: exit %d", n, code);
            break;
        }
        killed++;
        check_invariant(dir, out, label);
        // Back to the old run for the next kill point (that run cleans the leftovers too).
        kevo_remove_tree(out, NULL);
        if (!make_run(out, "old", 2))
            return;
    }
    int visible, hidden;
    char names[512];
    count_entries(dir, &visible, &hidden, names, sizeof names);
    CHECK(killed >= 3, "only %d kill points (KEVO_TEST_KILL_AT not honoured?)", killed);
    CHECK(hidden == 0, "leftovers after the last run:%s", names);
    check_invariant(dir, out, "the run that was not killed");
}

// Genuine SIGKILLs at random moments, a fresh or a replaced folder alike.
KEVO_TEST(outputs_kill_at_random_moments)
{
    paths();
    char dir_buf[1200], out_buf[1200];
    const char *dir = tmp_path(dir_buf, "runs"), *out = tmp_path(out_buf, "runs/flower");
    mkdir(dir, 0777);
    if (!make_run(out, "old", 2))
        return;
    srand((unsigned)time(NULL));
    for (int i = 0; i < 30; i++) {
        pid_t pid = spawn(0, 0, "run -m '%s' -i '%s' -p new -n 4 -o '%s' -q --threads 1", model,
                          image, out);
        struct timespec ts = {0, (long)(rand() % 40000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        reap(pid);
        char label[64];
        snprintf(label, sizeof label, "kill %d after %ld us", i, ts.tv_nsec / 1000);
        check_invariant(dir, out, label);
    }
    int visible, hidden;
    char names[512];
    if (make_run(out, "new", 4)) {
        count_entries(dir, &visible, &hidden, names, sizeof names);
        CHECK(visible == 1 && hidden == 0, "after a clean run:%s", names);
    }
}

// The move-aside swap (file systems without RENAME_EXCHANGE, e.g. NFS), killed at each of its
// steps in a child process: the old or the new folder is there, or, killed between the two
// renames, the next check moves the old one back.
static kevo_status has_mark(const char *dir, kevo_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/mark", dir);
    return kevo_file_exists(path) ? KEVO_OK : kevo_fail(err, KEVO_ERR_ARG, "%s: no mark", dir);
}

static int mark_of(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/mark", dir);
    char *t = kevo_test_slurp(path, NULL);
    int m = t ? t[0] : 0;
    free(t);
    return m;
}

KEVO_TEST(outputs_swap_without_exchange_recovers)
{
    for (int mode = 0; mode < 2; mode++) {
        char dir_buf[1200];
        const char *dir = tmp_path(dir_buf, mode ? "aside" : "exchange");
        char out[1300], path[1400];
        snprintf(out, sizeof out, "%s/flower", dir);
        snprintf(path, sizeof path, "%s/mark", out);
        int killed = 0;
        for (int n = 1; n < 20; n++) {
            kevo_error err;
            kevo_remove_tree(dir, NULL);
            kevo_mkdirs(out, &err);
            kevo_test_write(path, "A", 1);
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0) {
                char at[16];
                snprintf(at, sizeof at, "%d", n);
                setenv("KEVO_TEST_KILL_AT", at, 1);
                kevo_outdir_no_exchange = mode;
                kevo_outdir *od;
                char p[4300];
                if (kevo_outdir_open(out, has_mark, &od, &err) != KEVO_OK)
                    _exit(3);
                snprintf(p, sizeof p, "%s/mark", kevo_outdir_path(od));
                if (kevo_write_file(p, "B", 1, &err) != KEVO_OK)
                    _exit(4);
                _exit(kevo_outdir_commit(od, &err) == KEVO_OK ? 0 : 5);
            }
            int code = reap(pid);
            if (code != -SIGKILL) {
                CHECK(code == 0 && mark_of(out) == 'B', "mode %d step %d: exit %d, mark %c",
                      mode, n, code, mark_of(out));
                break;
            }
            killed++;
            int visible, hidden;
            char names[512];
            count_entries(dir, &visible, &hidden, names, sizeof names);
            int m = mark_of(out);
            // Only the move-aside swap has a moment without the folder, and only with the old
            // one aside under a hidden name.
            CHECK(visible <= 1 && (m == 'A' || m == 'B' || (mode == 1 && visible == 0)),
                  "mode %d killed at step %d: mark '%c', entries:%s", mode, n, m ? m : '-',
                  names);
            CHECK_OK(kevo_outdir_check(out, has_mark, &err), &err);   // the next run
            m = mark_of(out);
            count_entries(dir, &visible, &hidden, names, sizeof names);
            CHECK((m == 'A' || m == 'B') && visible == 1 && hidden == 0,
                  "mode %d, after the check that follows a kill at step %d: mark '%c', "
                  "entries:%s", mode, n, m ? m : '-', names);
        }
        CHECK(killed >= 3, "mode %d: only %d kill points", mode, killed);
    }
}

// SIGTERM, like Ctrl-C, stops a run with a message and an exit code, writing nothing.
KEVO_TEST(outputs_sigterm_and_sigint_stop_a_run)
{
    paths();
    int sigs[2] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        char dir_buf[1200];
        const char *dir = tmp_path(dir_buf, i ? "int" : "term");
        char out[1300];
        snprintf(out, sizeof out, "%s/flower", dir);
        mkdir(dir, 0777);
        pid_t pid = spawn(0, 0, "run -m '%s' -i '%s' -p hi -n 400 -o '%s' -q --threads 1", model,
                          image, out);
        // Wait until kevo (not the sh before its exec) catches the signal (/proc/PID/status
        // SigCgt), then send it.
        char status_path[64], *st = NULL;
        snprintf(status_path, sizeof status_path, "/proc/%ld/status", (long)pid);
        int caught = 0;
        for (int k = 0; k < 200000 && !caught; k++) {
            st = kevo_test_slurp(status_path, NULL);
            const char *c = st ? strstr(st, "SigCgt:") : NULL;
            unsigned long long mask = c ? strtoull(c + 7, NULL, 16) : 0;
            caught = kevo_test_contains(st, "Name:\tkevo") && ((mask >> (sigs[i] - 1)) & 1);
            int zombie = !st || kevo_test_contains(st, "State:\tZ");
            free(st);
            if (zombie)
                break;
        }
        kill(pid, sigs[i]);
        int code = reap(pid);
        char *errs = last_stderr(), names[512];
        int visible, hidden;
        count_entries(dir, &visible, &hidden, names, sizeof names);
        CHECK(caught && code == 1 && kevo_test_contains(errs, "interrupted") && visible == 0 &&
              hidden == 0, "signal %d: caught %d, exit %d, stderr %s, entries:%s", sigs[i],
              caught, code, errs ? errs : "", names);
        free(errs);
    }
}

// A PID that no longer exists (a child that has exited and been reaped).
static long dead_pid(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    reap(pid);
    return (long)pid;
}

// The next kevo deletes what killed kevo processes left (hidden temporary folders and files)
// and nothing of a live process's or anyone else's.
KEVO_TEST(outputs_stale_temporaries_of_dead_processes_only)
{
    paths();
    char dir_buf[1200], out_buf[1200], p[1400];
    const char *dir = tmp_path(dir_buf, "runs"), *out = tmp_path(out_buf, "runs/flower");
    mkdir(dir, 0777);
    long dead = dead_pid();
    const char *names[] = {".kevo-tmp-%ld-flower", ".kevo-tmp-%ld-other", ".kevo-tmp-1-flower",
                           ".kevo-tmp-x-flower", ".flower.tmp.%ld", ".notes.txt.tmp.%ld"};
    for (int i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof name, names[i], dead);
        snprintf(p, sizeof p, "%s/%s", dir, name);
        if (i < 4) {
            mkdir(p, 0777);
            strcat(p, "/hidden.safetensors");
        }
        kevo_test_write(p, "x", 1);
    }
    if (!make_run(out, "new", 2))
        return;
    int visible, hidden;
    char left[512];
    count_entries(dir, &visible, &hidden, left, sizeof left);
    // Kept: pid 1's (alive), the one whose PID is not a number, and files that are not kevo's
    // folder temporaries (.flower.tmp.PID would be an atomic file write's, beside a file named
    // flower: kevo_write_file cleans those, below).
    CHECK(visible == 1 && hidden == 2 && kevo_test_contains(left, ".kevo-tmp-1-flower") &&
          kevo_test_contains(left, ".kevo-tmp-x-flower"), "left:%s", left);
    snprintf(p, sizeof p, "%s/.notes.txt.tmp.%ld", dir, dead);
    CHECK(kevo_file_exists(p), "a file temporary went with the folder ones");
    kevo_error err;
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    CHECK_OK(kevo_write_file(p, "y", 1, &err), &err);
    snprintf(p, sizeof p, "%s/.notes.txt.tmp.%ld", dir, dead);
    CHECK(!kevo_file_exists(p), "the dead writer's .notes.txt.tmp.%ld was not deleted", dead);
}

// kevo analyze killed at each step of replacing analysis/: the old analysis or the new one,
// whole; nothing else appears in the run folder.
KEVO_TEST(outputs_analyze_kill_at_every_step)
{
    paths();
    char out_buf[1200], heat[1300];
    const char *out = tmp_path(out_buf, "flower");
    if (!make_run(out, "old", 4))
        return;
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "analyze '%s' --no-tsne --rows 1", out);
    CHECK(code == 0, "analyze --rows 1: exit %d: %s", code, errs ? errs : "");
    free(errs);
    snprintf(heat, sizeof heat, "%s/analysis/heatmap.csv", out);
    char *one_row = kevo_test_slurp(heat, NULL), *four_rows = NULL;
    int killed = 0;
    for (int n = 1; n < 40 && one_row; n++) {
        code = reap(spawn(n, 0, "analyze '%s' --no-tsne", out));
        char *now = kevo_test_slurp(heat, NULL), names[512];
        int visible, hidden;
        count_entries(out, &visible, &hidden, names, sizeof names);
        if (code != -SIGKILL) {
            CHECK(code == 0 && now && kevo_test_count_lines(heat) == 5 && visible == 3 &&
                  hidden == 0, "step %d: exit %d, entries:%s", n, code, names);
            four_rows = now;
            break;
        }
        killed++;
        int lines = kevo_test_count_lines(heat);
        CHECK(now && (!strcmp(now, one_row) || lines == 5) && visible == 3,
              "killed at step %d: heatmap.csv of %d lines, entries:%s", n, lines, names);
        free(now);
        // Back to the one-row analysis for the next kill point.
        code = kevo_test_cli(NULL, NULL, "analyze '%s' --no-tsne --rows 1", out);
    }
    CHECK(killed >= 3 && four_rows, "%d kill points, finished %d", killed, four_rows != NULL);
    free(one_row);
    free(four_rows);
}

// ---- kevo batch, kevo demo, kevo tsne RUN...: destinations checked before anything loads ----

// Runs `kevo ARGS` and checks it failed about the destination (needle, needle2), never having
// reached the model (no-such-model is never opened): exit 2 for a destination kevo will not
// replace, 1 for one the system does not let it write.
static void refused(const char *what, const char *needle, const char *needle2, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
static void refused(const char *what, const char *needle, const char *needle2, const char *fmt,
                    ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *so = NULL, *se = NULL;
    int code = kevo_test_cli(&so, &se, "%s", args);
    CHECK((code == 1 || code == 2) && kevo_test_contains(se, needle) &&
          kevo_test_contains(se, needle2) &&
          !kevo_test_contains(se, "no-such-model") && !kevo_test_contains(so, "answer"),
          "%s: exit %d, stderr: %s", what, code, se ? se : "");
    free(so);
    free(se);
}

KEVO_TEST(outputs_batch_refused_before_the_model_loads)
{
    paths();
    char out_buf[1200], p[1400], nosuch[1200], imgs[4000];
    const char *out = tmp_path(out_buf, "b");
    snprintf(nosuch, sizeof nosuch, "%s/no-such-model", kevo_test_tmpdir());
    snprintf(imgs, sizeof imgs, "'%s' examples/flower/flower01.png examples/flower/flower02.png "
             "examples/flower/flower03.png", image);
    // b/color: a kevo run folder (replaceable); b/flower01: someone's folder; b/flower02: a file;
    // b/flower03: a run.json of someone else's.
    snprintf(p, sizeof p, "%s/color", out);
    if (!make_run(p, "first", 2))
        return;
    snprintf(p, sizeof p, "%s/flower01", out);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/flower01/a.txt", out);
    kevo_test_write(p, "x", 1);
    snprintf(p, sizeof p, "%s/flower02", out);
    kevo_test_write(p, "x", 1);
    snprintf(p, sizeof p, "%s/flower03", out);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/flower03/run.json", out);
    kevo_test_write(p, "{}", 2);
    char *so = NULL, *se = NULL;
    int code = kevo_test_cli(&so, &se, "batch -m '%s' -p hi -o '%s' %s", nosuch, out, imgs);
    CHECK(code == 2 && kevo_test_contains(se, "b/flower01: exists and is not a kevo run") &&
          kevo_test_contains(se, "b/flower02: exists and is not a folder") &&
          kevo_test_contains(se, "b/flower03: exists and is not a kevo run") &&
          !kevo_test_contains(se, "b/color") && !kevo_test_contains(se, "no-such-model"),
          "foreign per-image folders: exit %d, stderr: %s", code, se ? se : "");
    free(so);
    free(se);
    char q[64];
    snprintf(p, sizeof p, "%s/flower01/a.txt", out);
    CHECK(kevo_file_exists(p), "a refused folder lost its file");
    snprintf(p, sizeof p, "%s/color", out);
    CHECK(run_steps(p, q, sizeof q) == 2, "the kevo run folder changed");
    snprintf(p, sizeof p, "%s/summary.csv", out);
    CHECK(!kevo_file_exists(p), "a refused batch wrote summary.csv");

    kevo_test_write(kevo_test_tmp("afile"), "x", 1);
    char afile[1200];
    snprintf(afile, sizeof afile, "%s", kevo_test_tmp("afile"));
    refused("-o afile", "afile", "not a folder", "batch -m '%s' -p hi -o '%s' '%s'", nosuch,
            afile, image);
    refused("-o afile/sub", "afile/sub", "Not a directory", "batch -m '%s' -p hi -o '%s/sub' "
            "'%s'", nosuch, afile, image);
    refused("-o /proc/kevo-out", "/proc/kevo-out", "cannot create", "batch -m '%s' -p hi -o "
            "/proc/kevo-out '%s'", nosuch, image);
    refused("-o /proc (exists, not writable)", "/proc/color", "cannot create the output folder",
            "batch -m '%s' -p hi -o /proc '%s'", nosuch, image);
    // OUT/summary.csv that is not a file; OUT/tsne that is not kevo's, with --analyze.
    snprintf(p, sizeof p, "%s/summary.csv", tmp_path(out_buf, "b2"));
    kevo_mkdirs(p, NULL);
    refused("summary.csv a folder", "summary.csv", "not a file", "batch -m '%s' -p hi -o '%s' "
            "'%s'", nosuch, out_buf, image);
    snprintf(p, sizeof p, "%s/tsne/plot.py", tmp_path(out_buf, "b3"));
    kevo_mkdirs(kevo_test_tmp("b3/tsne"), NULL);
    kevo_test_write(p, "x", 1);
    refused("--analyze, tsne foreign", "b3/tsne", "not a kevo analysis folder", "batch --analyze "
            "-m '%s' -p hi -o '%s' '%s'", nosuch, out_buf, image);
    CHECK(kevo_file_exists(p), "tsne/plot.py went");
}

// A kevo run folder holding a user's file: reused as it is when the run matches, refused before
// the model loads when it would be rerun (its file would be lost), not after the other images.
KEVO_TEST(outputs_batch_user_file_in_a_run_to_rerun)
{
    paths();
    char out_buf[1200], dir[1300], notes[1400], q[64];
    const char *out = tmp_path(out_buf, "c");
    snprintf(dir, sizeof dir, "%s/color", out);
    if (!make_run(dir, "first", 2))
        return;
    snprintf(notes, sizeof notes, "%s/notes.txt", dir);
    kevo_test_write(notes, "mine", 4);
    char *so = NULL, *se = NULL;
    int code = kevo_test_cli(&so, &se, "batch -m '%s' -p other -n 2 -o '%s' "
                             "examples/flower/flower01.png '%s' -q", model, out, image);
    CHECK(code == 2 && kevo_test_contains(se, "notes.txt") && kevo_test_contains(se, "c/color") &&
          !kevo_test_contains(so, "flower01"), "rerun over notes.txt: exit %d, stderr: %s",
          code, se ? se : "");
    CHECK(kevo_file_exists(notes) && run_steps(dir, q, sizeof q) == 2 && !strcmp(q, "first"),
          "the run folder with notes.txt changed");
    snprintf(notes, sizeof notes, "%s/flower01", out);
    CHECK(!kevo_file_exists(notes), "a refused batch ran flower01 first");
    free(so);
    free(se);
    code = kevo_test_cli(&so, &se, "batch -m '%s' -p first -n 2 -o '%s' '%s' -q", model, out,
                         image);
    snprintf(notes, sizeof notes, "%s/notes.txt", dir);
    CHECK(code == 0 && kevo_test_contains(so, "[reused]") && kevo_file_exists(notes),
          "reuse beside notes.txt: exit %d, %s %s", code, so ? so : "", se ? se : "");
    free(so);
    free(se);
}

KEVO_TEST(outputs_tsne_refused_before_the_model_loads)
{
    paths();
    char run_buf[1200], nosuch[1200], afile[1200];
    const char *run = tmp_path(run_buf, "r");
    if (!make_run(run, "What is the color of the flower?", 3))
        return;
    snprintf(nosuch, sizeof nosuch, "%s/no-such-model", kevo_test_tmpdir());
    snprintf(afile, sizeof afile, "%s", kevo_test_tmp("afile"));
    kevo_test_write(afile, "x", 1);
    mkdir(kevo_test_tmp("stuff"), 0777);
    kevo_test_write(kevo_test_tmp("stuff/a.txt"), "x", 1);
    refused("tsne -o afile", "afile", "not a folder", "tsne '%s' --step 0 -m '%s' -o '%s'", run,
            nosuch, afile);
    refused("tsne -o afile/sub", "afile/sub", "Not a directory", "tsne '%s' --step 0 -m '%s' -o "
            "'%s/sub'", run, nosuch, afile);
    refused("tsne -o stuff", "stuff", "not a kevo analysis folder", "tsne '%s' --step 0 -m '%s' "
            "-o '%s'", run, nosuch, kevo_test_tmp("stuff"));
    refused("tsne -o /proc/kevo-out", "/proc/kevo-out", "cannot create", "tsne '%s' --step 0 -m "
            "'%s' -o /proc/kevo-out", run, nosuch);
    CHECK(kevo_file_exists(kevo_test_tmp("stuff/a.txt")), "stuff/a.txt went");
}

// A small examples folder for `kevo demo --examples`: one flower and one scene, with the
// questions given.
static const char *make_examples(const char *name, const char *flower_q, const char *scene_q)
{
    static char dir[1200];
    char p[1400], line[512];
    snprintf(dir, sizeof dir, "%s", kevo_test_tmp(name));
    const char *sets[2] = {"flower", "describe"}, *img[2] = {"flower01.png", "scene01.png"};
    const char *qs[2] = {flower_q, scene_q};
    for (int s = 0; s < 2; s++) {
        snprintf(p, sizeof p, "%s/%s", dir, sets[s]);
        kevo_mkdirs(p, NULL);
        char src[256], *data;
        size_t len;
        snprintf(src, sizeof src, "examples/%s/%s", sets[s], img[s]);
        data = kevo_test_slurp(src, &len);
        snprintf(p, sizeof p, "%s/%s/%s", dir, sets[s], img[s]);
        kevo_test_write(p, data, len);
        free(data);
        snprintf(line, sizeof line, "{\"image\": \"%s\", \"question\": \"%s\"}\n", img[s], qs[s]);
        snprintf(p, sizeof p, "%s/%s/questions.jsonl", dir, sets[s]);
        kevo_test_write(p, line, strlen(line));
    }
    return dir;
}

KEVO_TEST(outputs_demo_refused_before_the_model_loads)
{
    char ex[1200], nosuch[1200], afile[1200];
    snprintf(ex, sizeof ex, "%s", make_examples("ex", "What is the color of the flower?",
                                                "Describe it."));
    snprintf(nosuch, sizeof nosuch, "%s/no-such-model", kevo_test_tmpdir());
    snprintf(afile, sizeof afile, "%s", kevo_test_tmp("afile"));
    kevo_test_write(afile, "x", 1);
    mkdir(kevo_test_tmp("stuff"), 0777);
    kevo_test_write(kevo_test_tmp("stuff/a.txt"), "x", 1);
    mkdir(kevo_test_tmp("stuff2"), 0777);
    mkdir(kevo_test_tmp("stuff2/flower"), 0777);
    kevo_test_write(kevo_test_tmp("stuff2/flower/notes.txt"), "x", 1);
    const char *common = "demo -q --model '%s' --examples '%s' -o '%s'";
    refused("demo -o afile", "afile", "not a folder", common, nosuch, ex, afile);
    refused("demo -o afile/sub", "afile/sub", "Not a directory", "demo -q --model '%s' "
            "--examples '%s' -o '%s/sub'", nosuch, ex, afile);
    refused("demo -o /proc/kevo-out", "/proc/kevo-out", "cannot create", common, nosuch, ex,
            "/proc/kevo-out");
    char stuff[1200];
    snprintf(stuff, sizeof stuff, "%s", kevo_test_tmp("stuff"));
    refused("demo -o stuff", "stuff", "not a kevo demo folder", common, nosuch, ex, stuff);
    snprintf(stuff, sizeof stuff, "%s", kevo_test_tmp("stuff2"));
    refused("demo -o stuff2", "stuff2", "notes.txt", common, nosuch, ex, stuff);
    CHECK(kevo_file_exists(kevo_test_tmp("stuff/a.txt")) &&
          kevo_file_exists(kevo_test_tmp("stuff2/flower/notes.txt")), "a refused folder changed");
}

// The demo's folder (runs, analyses, maps, report.html) is replaced whole: killed at any point it
// holds the old demo or the new one, never new runs beside an old report; SIGTERM stops it with
// the old demo intact and nothing left beside it.
KEVO_TEST(outputs_demo_killed_leaves_old_or_new)
{
    char old_ex[1200], new_ex[1200], dir_buf[1200], out[1300], p[1400], q[128];
    snprintf(old_ex, sizeof old_ex, "%s", make_examples("old", "What is the color of the "
                                                        "flower?", "Describe it."));
    snprintf(new_ex, sizeof new_ex, "%s", make_examples("new", "What color is the flower?",
                                                        "Describe the image."));
    const char *dir = tmp_path(dir_buf, "outs");
    snprintf(out, sizeof out, "%s/demo", dir);
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "demo -q --examples '%s' -o '%s'", old_ex, out);
    CHECK(code == 0, "old demo: exit %d: %s", code, errs ? errs : "");
    free(errs);
    snprintf(p, sizeof p, "%s/report.html", out);
    char *old_report = kevo_test_slurp(p, NULL);
    if (!old_report)
        return;
    // 0: old, 1: new, -1: anything else.
    int kills[] = {4, 7, 11, 0};
    for (size_t k = 0; k < sizeof kills / sizeof kills[0]; k++) {
        code = reap(spawn(kills[k], 0, "demo -q --examples '%s' -o '%s'", new_ex, out));
        int olds = 0, news = 0;
        const char *runs[2] = {"flower/flower01", "describe/scene01"};
        for (int r = 0; r < 2; r++) {
            snprintf(p, sizeof p, "%s/%s", out, runs[r]);
            q[0] = '\0';
            run_steps(p, q, sizeof q);
            olds += !strcmp(q, "What is the color of the flower?") || !strcmp(q, "Describe it.");
            news += !strcmp(q, "What color is the flower?") || !strcmp(q, "Describe the image.");
        }
        snprintf(p, sizeof p, "%s/report.html", out);
        char *report = kevo_test_slurp(p, NULL);
        int same = report && !strcmp(report, old_report);
        int visible, hidden;
        char names[512];
        count_entries(dir, &visible, &hidden, names, sizeof names);
        CHECK(visible == 1 && report && ((olds == 2 && same) || (news == 2 && !same)),
              "kill at %d (exit %d): %d old runs, %d new, report.html %s, entries:%s", kills[k],
              code, olds, news, same ? "old" : "new", names);
        CHECK(kills[k] ? code == -SIGKILL : code == 0 && news == 2, "kill at %d: exit %d",
              kills[k], code);
        free(report);
        if (news == 2) {   // back to the old demo for the next kill point
            code = kevo_test_cli(NULL, NULL, "demo -q --examples '%s' -o '%s'", old_ex, out);
            free(old_report);
            snprintf(p, sizeof p, "%s/report.html", out);
            old_report = kevo_test_slurp(p, NULL);
        }
    }
    free(old_report);
}

// Starts `kevo ARGS` in the background, waits until kevo catches sig, sends it and reaps it;
// returns the exit code, *caught whether the handler was there.
static int signal_when_caught(int sig, int *caught, const char *args)
{
    pid_t pid = spawn(0, 0, "%s", args);
    char status_path[64], *st = NULL;
    snprintf(status_path, sizeof status_path, "/proc/%ld/status", (long)pid);
    *caught = 0;
    for (int k = 0; k < 200000 && !*caught; k++) {
        st = kevo_test_slurp(status_path, NULL);
        const char *c = st ? strstr(st, "SigCgt:") : NULL;
        unsigned long long mask = c ? strtoull(c + 7, NULL, 16) : 0;
        *caught = kevo_test_contains(st, "Name:\tkevo") && ((mask >> (sig - 1)) & 1);
        int zombie = !st || kevo_test_contains(st, "State:\tZ");
        free(st);
        if (zombie)
            break;
    }
    kill(pid, sig);
    return reap(pid);
}

// kevo analyze stops at SIGTERM and SIGINT as a run does: "interrupted", exit 1, the old
// analysis/ as it was and nothing beside it.
KEVO_TEST(outputs_analyze_sigterm_and_sigint)
{
    paths();
    char out_buf[1200], heat[1300], args[4000];
    const char *out = tmp_path(out_buf, "flower");
    if (!make_run(out, "old", 4))
        return;
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "analyze '%s' --no-tsne --rows 1", out);
    CHECK(code == 0, "analyze --rows 1: exit %d: %s", code, errs ? errs : "");
    free(errs);
    snprintf(heat, sizeof heat, "%s/analysis/heatmap.csv", out);
    char *one_row = kevo_test_slurp(heat, NULL);
    int sigs[2] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2 && one_row; i++) {
        snprintf(args, sizeof args, "analyze '%s' --threads 1", out);
        int caught;
        code = signal_when_caught(sigs[i], &caught, args);
        char *now = kevo_test_slurp(heat, NULL), names[512];
        errs = last_stderr();
        int visible, hidden;
        count_entries(out, &visible, &hidden, names, sizeof names);
        CHECK(caught && code == 1 && kevo_test_contains(errs, "interrupted") && now &&
              !strcmp(now, one_row) && visible == 3 && hidden == 0,
              "signal %d: caught %d, exit %d, stderr %s, entries:%s", sigs[i], caught, code,
              errs ? errs : "", names);
        free(now);
        free(errs);
    }
    free(one_row);
}

// kevo demo stops at SIGTERM with the old demo intact and nothing beside it.
KEVO_TEST(outputs_demo_sigterm)
{
    char ex[1200], dir_buf[1200], out[1300], p[1400], args[4000];
    snprintf(ex, sizeof ex, "%s", make_examples("ex", "What is the color of the flower?",
                                                "Describe it."));
    const char *dir = tmp_path(dir_buf, "outs");
    snprintf(out, sizeof out, "%s/demo", dir);
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "demo -q --examples '%s' -o '%s'", ex, out);
    CHECK(code == 0, "demo: exit %d: %s", code, errs ? errs : "");
    free(errs);
    snprintf(p, sizeof p, "%s/report.html", out);
    char *before = kevo_test_slurp(p, NULL);
    snprintf(args, sizeof args, "demo -q --examples '%s' -o '%s'", ex, out);
    int caught;
    code = signal_when_caught(SIGTERM, &caught, args);
    char *after = kevo_test_slurp(p, NULL), names[512];
    errs = last_stderr();
    int visible, hidden;
    count_entries(dir, &visible, &hidden, names, sizeof names);
    CHECK(caught && code == 1 && kevo_test_contains(errs, "interrupted") && before && after &&
          !strcmp(before, after) && visible == 1 && hidden == 0,
          "caught %d, exit %d, stderr %s, entries:%s", caught, code, errs ? errs : "", names);
    free(before);
    free(after);
    free(errs);
}
