/* cli.h: shared pieces of flowscope-cli's subcommands. */
#pragma once

#include <gio/gio.h>
#include <cjson/cJSON.h>

#include "sae-set.h"

/* Exit codes of the command-line contract (ARCHITECTURE.md). */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* Where `graph` looks for a map when --map is not given: in the first
 * --saes folder, the default output of `map` there. */
#define CLI_DEFAULT_MAP_NAME "flowscope.map"

typedef int (*CliCommand) (int argc, char **argv);

int  cli_info (int argc, char **argv);
int  cli_logits (int argc, char **argv);
int  cli_generate (int argc, char **argv);
int  cli_map (int argc, char **argv);
int  cli_match (int argc, char **argv);
int  cli_encode (int argc, char **argv);
int  cli_graph (int argc, char **argv);
int  cli_groups (int argc, char **argv);
int  cli_causal (int argc, char **argv);
int  cli_tensors (int argc, char **argv);
int  cli_tokenize (int argc, char **argv);
int  cli_lens (int argc, char **argv);
int  cli_activations (int argc, char **argv);

/* Prints "flowscope-cli: error: <message>" and returns CLI_FAILED. */
int  cli_fail (const GError *error);
/* Parses the options of a subcommand; on a usage error prints it and returns FALSE. */
gboolean cli_parse (GOptionContext *context, int *argc, char ***argv);
/* `--saes PATH...` takes every word up to the next option: GOption leaves
 * the words after the first in argv, so they are appended here. Returns
 * FALSE (after printing why) when other stray words are left. */
gboolean cli_take_paths (char ***paths, int argc, char **argv);
/* The options of every command that reads an SAE set. */
typedef struct {
  char **paths;        /* --saes */
  char **choices;      /* --choose */
  char  *llamascope;   /* --llamascope-threshold */
} CliSaeSetArgs;

/* Adds --saes, --choose and --llamascope-threshold to `context`'s main group. */
void      cli_add_sae_set_options (GOptionContext *context, CliSaeSetArgs *args);
void      cli_sae_set_args_clear (CliSaeSetArgs *args);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliSaeSetArgs, cli_sae_set_args_clear)
/* When neither SAEs (`saes`) nor a model (`*model`; NULL for commands
 * without one) were named, names the bundled demo's and returns TRUE. */
gboolean  cli_default_to_demo (CliSaeSetArgs *saes, char **model);
/* Opens the SAEs named by the options; with a model folder, attention SAEs
 * on attn.hook_z are matched through its output projection. */
FsSaeSet *cli_open_sae_set (CliSaeSetArgs *args, const char *model_path, GError **error);
/* The SAE of feature `id` (parsed into layer, site and index) in `set`;
 * fails naming `id` when no SAE sits at its position or the index is
 * beyond it. */
FsSae    *cli_lookup_feature (FsSaeSet *set, const char *id, int layer, FsSite site,
                              int64_t index, GError **error);
/* Prints a cJSON document on stdout, formatted, and frees it. */
void cli_print_json (cJSON *document);
