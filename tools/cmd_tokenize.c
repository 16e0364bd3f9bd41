/* cmd_tokenize.c — `siglip tokenize`: input_ids and attention_mask of texts, padded as the model
 * sees them. */
#include <stdlib.h>

#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip tokenize -m MODEL_DIR [--json] [--max-length N] TEXT...\n\n"
    "Tokenizes each TEXT as the model's tokenizer (SiglipTokenizer, or Siglip2Tokenizer for Gemma\n"
    "files) with padding=\"max_length\", truncation=True. Needs only\n"
    "spiece.model, tokenizer.model or tokenizer.json (and tokenizer_config.json) in MODEL_DIR;\n"
    "no OpenCL device.\n\n"
    "  -m, --model DIR   model directory\n"
    "  --json            print {\"input_ids\": [[...]], \"attention_mask\": [[...]]}\n"
    "  --max-length N    pad/truncate to N tokens (default: the tokenizer's model_max_length)\n";

enum { OPT_JSON = OPT_FIRST_COMMAND_OPTION, OPT_MAX_LENGTH };

static void print_json(const int32_t *ids, const int32_t *mask, int n, int len)
{
    printf("{\"input_ids\": [");
    for (int i = 0; i < n; i++) {
        printf(i ? ",\n  " : "\n  ");
        json_int_array(stdout, ids + (size_t)i * len, len);
    }
    printf("],\n\"attention_mask\": [");
    for (int i = 0; i < n; i++) {
        printf(i ? ",\n  " : "\n  ");
        json_int_array(stdout, mask + (size_t)i * len, len);
    }
    printf("]}\n");
}

/* Per text: the text, then its unpadded ids and the count. */
static void print_human(char *const *texts, const int32_t *ids, const int32_t *mask, int n, int len)
{
    for (int i = 0; i < n; i++) {
        const int32_t *row = ids + (size_t)i * len, *mrow = mask + (size_t)i * len;
        int used = 0;
        while (used < len && mrow[used])
            used++;
        printf("%s\n ", texts[i]);
        for (int j = 0; j < used; j++)
            printf(" %d", (int)row[j]);
        printf("\n  (%d tokens, padded to %d)\n", used, len);
    }
}

static int tokenize_and_print(SiglipTokenizer *tok, char *const *texts, int n, int max_length,
                              int json)
{
    int len = max_length > 0 ? max_length : siglip_tokenizer_max_length(tok);
    size_t count = cli_array_size((size_t)n, (size_t)len);
    int32_t *ids = count ? malloc(count * sizeof *ids) : NULL;
    int32_t *mask = count ? malloc(count * sizeof *mask) : NULL;
    int rc = CLI_OK;
    if (!ids || !mask) {
        rc = cli_error("tokenize: out of memory");
    } else {
        int st = siglip_tokenize(tok, (const char *const *)texts, n, len, ids, mask);
        if (st)
            rc = cli_msg_error(siglip_tokenizer_error(tok), st, "tokenize");
        else if (json)
            print_json(ids, mask, n, len);
        else
            print_human(texts, ids, mask, n, len);
    }
    free(ids);
    free(mask);
    return rc;
}

typedef struct TokenizeOptions {
    int json, max_length;
} TokenizeOptions;

static int tokenize_option(void *arg, const CliCommon *c, int opt, char *value)
{
    TokenizeOptions *o = arg;
    if (opt == OPT_JSON)
        o->json = 1;
    else if (opt == OPT_MAX_LENGTH)
        return cli_parse_int(c->cmd, "--max-length", value, 1, 1 << 16, &o->max_length)
                   ? CLI_USAGE : CLI_OK;
    else
        return CLI_NOT_MINE;
    return CLI_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    static const struct option own[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    };
    CliCommon c;
    TokenizeOptions o = {0};
    CliParser p = {.shortopts = ":hm:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = tokenize_option, .arg = &o};
    int r = cli_parse_options(&c, "tokenize", argc, argv, &p);
    if (r >= 0)
        return r;
    if (optind >= argc)
        return cli_usage_error(c.cmd, "no TEXT given");
    SiglipTokenizer *tok = NULL;
    r = cli_load_host(&c, p.model_dir, &tok, NULL);
    if (r == CLI_OK)
        r = tokenize_and_print(tok, argv + optind, argc - optind, o.max_length, o.json);
    siglip_tokenizer_free(&tok);
    return r;
}
