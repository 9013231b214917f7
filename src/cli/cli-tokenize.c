/* flowscope-cli tokenize: the ids and token strings of a text. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "fs-error.h"
#include "tokenizer.h"

static cJSON *
to_json (FsTokenizer *tokenizer, const int32_t *ids, gsize n_ids)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *id_array = cJSON_AddArrayToObject (root, "ids");
  cJSON *token_array = cJSON_AddArrayToObject (root, "tokens");

  for (gsize i = 0; i < n_ids; i++)
    {
      cJSON_AddItemToArray (id_array, cJSON_CreateNumber (ids[i]));
      cJSON_AddItemToArray (token_array,
                            cJSON_CreateString (fs_tokenizer_id_to_token (tokenizer, ids[i])));
    }
  return root;
}

/* The text of a token, for a terminal: control characters escaped. */
static char *
escape_controls (const char *text)
{
  GString *out = g_string_new (NULL);
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append (out, "\\n");
      else if (*p == '\t')
        g_string_append (out, "\\t");
      else if (*p == '\r')
        g_string_append (out, "\\r");
      else if (*p < 0x20 || *p == 0x7F)
        g_string_append_printf (out, "\\x%02x", *p);
      else
        g_string_append_c (out, (char) *p);
    }
  return g_string_free (out, FALSE);
}

static void
print_human (FsTokenizer *tokenizer, const int32_t *ids, gsize n_ids)
{
  printf ("%" G_GSIZE_FORMAT " token%s\n", n_ids, n_ids == 1 ? "" : "s");
  for (gsize i = 0; i < n_ids; i++)
    {
      g_autofree char *text = fs_tokenizer_decode (tokenizer, &ids[i], 1, NULL);
      g_autofree char *valid = g_utf8_make_valid (text, -1);
      g_autofree char *shown = escape_controls (valid);
      printf ("%6" G_GSIZE_FORMAT " %8d  %-20s “%s”\n", i, ids[i],
              fs_tokenizer_id_to_token (tokenizer, ids[i]), shown);
    }
}

int
cli_tokenize (int argc, char **argv)
{
  g_autofree char *model = NULL, *tokenizer_path = NULL, *text = NULL, *text_file = NULL;
  gboolean json = FALSE, bos = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "Model folder (its tokenizer)", "DIR" },
    { "tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tokenizer_path,
      "tokenizer.json, vocab.json (with merges.txt) or a folder holding them", "FILE_OR_DIR" },
    { "text", 0, 0, G_OPTION_ARG_STRING, &text, "The text to tokenize", "T" },
    { "text-file", 0, 0, G_OPTION_ARG_FILENAME, &text_file, "Tokenize the bytes of a file", "F" },
    { "bos", 0, 0, G_OPTION_ARG_NONE, &bos, "Prepend the tokenizer's BOS token", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- split a text into tokens");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!cli_parse (context, &argc, &argv))
    return CLI_USAGE;
  if (tokenizer_path == NULL)
    cli_default_to_demo (NULL, &model);
  if (argc > 1)
    {
      g_printerr ("flowscope-cli: unexpected argument “%s”\n", argv[1]);
      return CLI_USAGE;
    }
  if ((model == NULL) == (tokenizer_path == NULL) || (text == NULL) == (text_file == NULL))
    {
      g_printerr ("flowscope-cli: tokenize needs one of --model and --tokenizer, "
                  "and one of --text and --text-file\n");
      return CLI_USAGE;
    }

  g_autoptr(FsTokenizer) tokenizer = fs_tokenizer_load (model != NULL ? model : tokenizer_path,
                                                        &error);
  if (tokenizer == NULL)
    return cli_fail (error);

  g_autofree char *contents = NULL;
  gsize length = 0;
  if (text_file != NULL)
    {
      g_autoptr(GError) io_error = NULL;
      if (!g_file_get_contents (text_file, &contents, &length, &io_error))
        {
          fs_fail (&error, FS_ERROR_IO, text_file, "%s", io_error->message);
          return cli_fail (error);
        }
    }
  else
    length = strlen (text);

  gsize n_ids = 0;
  g_autofree int32_t *ids = fs_tokenizer_encode (tokenizer, contents != NULL ? contents : text,
                                                 length, &n_ids);
  if (bos)
    {
      int32_t bos_id = fs_tokenizer_get_bos_id (tokenizer);
      if (bos_id < 0)
        {
          fs_fail (&error, FS_ERROR_NOT_FOUND, model != NULL ? model : tokenizer_path,
                   "the tokenizer has no BOS token");
          return cli_fail (error);
        }
      ids = g_renew (int32_t, ids, n_ids + 1);
      memmove (ids + 1, ids, n_ids * sizeof (int32_t));
      ids[0] = bos_id;
      n_ids++;
    }

  if (json)
    cli_print_json (to_json (tokenizer, ids, n_ids));
  else
    print_human (tokenizer, ids, n_ids);
  return CLI_OK;
}
