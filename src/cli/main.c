/* flowscope-cli: every engine capability from the shell (ARCHITECTURE.md,
 * "The command line contract"). */
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  CliCommand run;
  const char *summary;
} commands[] = {
  { "info", cli_info, "List the SAEs found under some paths" },
  { "graph", cli_graph, "Build the flow graph of a feature" },
  { "match", cli_match, "Top-k matches of every feature of one position in another" },
  { "map", cli_map, "Compute the all-pairs map of a set (top-k matches of every feature)" },
  { "groups", cli_groups, "Where active residual features come from, per layer, on a text" },
  { "causal", cli_causal, "Deactivate a feature's matched predecessors and measure it" },
  { "lens", cli_lens, "Tokens a feature promotes and suppresses through the unembedding" },
  { "activations", cli_activations, "A feature's activation at every token of a prompt, "
                                    "or the features most active on it" },
  { "encode", cli_encode, "Encode activations from a .npy file with one SAE" },
  { "logits", cli_logits, "Next-token logits of a prompt" },
  { "generate", cli_generate, "Continue a prompt with a model" },
  { "tokenize", cli_tokenize, "Split a text into tokens with a model's tokenizer" },
  { "tensors", cli_tensors, "List the tensors of a safetensors, .npz or .npy file" },
};

static void
print_usage (FILE *stream)
{
  fprintf (stream, "Usage: flowscope-cli COMMAND [OPTIONS]\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (stream, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (stream, "\nRun “flowscope-cli COMMAND --help” for a command's options.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* JSON and numbers on stdout are for scripts: always a decimal point. */
  setlocale (LC_NUMERIC, "C");
  if (argc < 2)
    {
      print_usage (stderr);
      return CLI_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_usage (stdout);
      return CLI_OK;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("flowscope-cli: unknown command “%s”\n", argv[1]);
  print_usage (stderr);
  return CLI_USAGE;
}
