/* siglip.c — entry point of the siglip command-line tool: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"classify", cmd_classify, "zero-shot (or a classifier's own) classification of images"},
    {"embed", cmd_embed, "text and image embeddings (and logits) into a .safetensors file"},
    {"tokenize", cmd_tokenize, "input_ids and attention_mask of texts as the model sees them"},
    {"preprocess", cmd_preprocess, "pixel_values of images into a .safetensors file"},
    {"devices", cmd_devices, "list the OpenCL devices and the one that would be used"},
    {"bench", cmd_bench, "measure tower throughput on each device"},
    {"tune", cmd_tune, "find the fastest op configuration for a device and store it"},
    {"index", cmd_index, "embed the images of folders into an SQLite index for search"},
    {"search", cmd_search, "the indexed images that best match a text or an image"},
    {"serve", cmd_serve, "HTTP service: embeddings and classification, batched on the device"},
};

static void print_usage(FILE *f)
{
    fprintf(f, "Usage: siglip COMMAND [OPTIONS] [ARGS...]\n\n"
               "SigLIP image-text models on OpenCL devices.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'siglip COMMAND --help' describes a command; 'siglip --version' prints the version.\n"
               "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static const Command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "siglip: no command given (see 'siglip --help')\n");
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        cli_print_version();
        return CLI_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            print_usage(stdout);
            return CLI_OK;
        }
        const Command *cmd = find_command(argv[2]);
        if (!cmd) {
            fprintf(stderr, "siglip: unknown command '%s' (see 'siglip --help')\n", argv[2]);
            return CLI_USAGE;
        }
        char *help_argv[] = {(char *)cmd->name, (char *)"--help", NULL};
        return cmd->run(2, help_argv);
    }
    const Command *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "siglip: unknown command '%s' (see 'siglip --help')\n", name);
        return CLI_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
