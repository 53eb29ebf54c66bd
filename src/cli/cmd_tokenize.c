// cmd_tokenize.c — `kevo tokenize MODEL_DIR TEXT`: token ids and pieces, prompts, decoding.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: kevo tokenize MODEL_DIR TEXT [--ids] [--bos] [--template NAME] [--decode]\n"
    "\n"
    "Tokenizes TEXT (\"-\" reads standard input) with the tokenizer of MODEL_DIR, any folder\n"
    "holding tokenizer.model and/or tokenizer.json (tokenizer.json is used when both exist), and\n"
    "prints one \"id<TAB>piece\" line per token.\n"
    "\n"
    "  --ids            print the ids alone on one line, separated by spaces\n"
    "  --bos            prepend the BOS token (not added by default, as sentencepiece's encode)\n"
    "  --template NAME  TEXT is the question: print the ids of the whole prompt of template\n"
    "                   llava_v1 or llava-hf, BOS included, the image slot as -200\n"
    "  --decode         TEXT is ids (separated by spaces or commas): print the text they give\n";

// Reads all of standard input into a heap buffer.
static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, stdin);
        if (n < cap)
            break;
        char *more = realloc(buf, cap * 2);
        if (!more)
            free(buf);
        buf = more;
        cap *= 2;
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

// Parses "1 2,3" into a heap array; returns 0 and prints a usage error on anything else.
static int parse_ids(const char *s, int **ids, int *n)
{
    size_t cap = strlen(s) / 2 + 1;
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    if (!*ids)
        return 0;
    while (*s) {
        if (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n') {
            s++;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < INT_MIN || v > INT_MAX ||
            (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
            cli_usage_error("tokenize", "--decode expects ids separated by spaces or commas, "
                            "not '%.20s'", s);
            free(*ids);
            *ids = NULL;
            return 0;
        }
        (*ids)[(*n)++] = (int)v;
        s = end;
    }
    return 1;
}

static void print_ids(const kevo_tokenizer *t, const int *ids, int n, int ids_only)
{
    for (int i = 0; i < n; i++) {
        if (ids_only) {
            printf(i ? " %d" : "%d", ids[i]);
            continue;
        }
        const char *piece = ids[i] == KEVO_IMAGE_SLOT ? "<image slot>"
                                                      : kevo_tokenizer_piece(t, ids[i]);
        printf("%d\t%s\n", ids[i], piece ? piece : "?");
    }
    if (ids_only)
        printf("\n");
}

int cmd_tokenize(int argc, char **argv)
{
    int ids_only = 0, bos = 0, decode = 0;
    const char *tpl_name = NULL;
    const cli_option opts[] = {
        CLI_OPT_FLAG("ids", 0, &ids_only),         CLI_OPT_FLAG("bos", 0, &bos),
        CLI_OPT_STRING("template", 0, &tpl_name),  CLI_OPT_FLAG("decode", 0, &decode),
        CLI_OPT_HELP,                              CLI_OPT_END,
    };
    int rc = cli_parse("tokenize", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc - 2)
        return cli_usage_error("tokenize", "expects MODEL_DIR and TEXT");
    if (decode && (tpl_name || bos || ids_only))
        return cli_usage_error("tokenize", "--decode takes no other option");
    kevo_error err;
    kevo_template tpl = KEVO_TEMPLATE_LLAVA_V1;
    if (tpl_name && kevo_template_parse(tpl_name, &tpl, &err) != KEVO_OK)
        return cli_usage_error("tokenize", "%s", err.msg);

    const char *arg = argv[optind + 1];
    size_t len = strlen(arg);
    char *input = NULL;
    if (strcmp(arg, "-") == 0) {
        if (!(input = read_stdin(&len))) {
            fprintf(stderr, "kevo: cannot read standard input\n");
            return EXIT_RUNTIME;
        }
        arg = input;
    }
    int *ids = NULL, n = 0, code = EXIT_OK;
    if (decode && !parse_ids(arg, &ids, &n)) {
        free(input);
        return EXIT_USAGE;
    }
    kevo_tokenizer *t;
    if (kevo_tokenizer_load(argv[optind], &t, &err) != KEVO_OK) {
        free(ids);
        free(input);
        return cli_report(&err);
    }
    kevo_status st = KEVO_OK;
    if (decode) {
        char *text;
        if ((st = kevo_tokenizer_decode(t, ids, n, &text, &err)) == KEVO_OK) {
            printf("%s\n", text);
            free(text);
        }
    } else if (tpl_name && strlen(arg) != len) {
        code = cli_usage_error("tokenize", "the question contains a NUL byte");
    } else if (tpl_name) {
        char *prompt = NULL;
        int pos;
        if ((st = kevo_template_prompt(t, tpl, arg, &prompt, &ids, &n, &pos, &err)) == KEVO_OK)
            print_ids(t, ids, n, ids_only);
        free(prompt);
    } else if ((st = kevo_tokenizer_encode(t, arg, len, bos, &ids, &n, &err)) == KEVO_OK) {
        print_ids(t, ids, n, ids_only);
    }
    if (st != KEVO_OK)
        code = cli_report(&err);
    free(ids);
    free(input);
    kevo_tokenizer_free(t);
    return code;
}
