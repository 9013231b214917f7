/* tok-batch: encodes many texts with one tokenizer, for the comparisons
 * with the reference implementations (one process, not thousands).
 *
 *   tok-batch TOKENIZER SEGMENTS.json OUT.json
 *
 * SEGMENTS.json is an array of strings. OUT.json gets {"ids": [[...], ...],
 * "roundtrip_failures": [i, ...], "stream_failures": [i, ...],
 * "encode_seconds": s, "encode_cpu_seconds": s, "bytes": n, "sanitized": b}:
 * segment i fails the round trip when
 * decode (encode (text)) != text, and the stream check when the streaming
 * decoder, fed one id at a time, returns broken UTF-8 or text that differs
 * from decode's. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json-util.h"
#include "tokenizer.h"

/* Timings mean little under sanitizers; the test only reports them then. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED TRUE
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED TRUE
#endif
#endif
#ifndef SANITIZED
#define SANITIZED FALSE
#endif

/* CPU time: the machine may be busy with other work. */
static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static gboolean
stream_matches (FsTokenizer *tokenizer, const int32_t *ids, gsize n_ids, const char *decoded,
                gsize decoded_length)
{
  g_autoptr(FsTokenDecoder) decoder = fs_token_decoder_new (tokenizer);
  g_autoptr(GString) streamed = g_string_new (NULL);
  gsize length;

  for (gsize i = 0; i < n_ids; i++)
    {
      g_autofree char *piece = fs_token_decoder_push (decoder, ids[i], &length);
      if (!g_utf8_validate_len (piece, length, NULL))
        return FALSE;
      g_string_append_len (streamed, piece, length);
    }
  g_autofree char *rest = fs_token_decoder_flush (decoder, &length);
  g_string_append_len (streamed, rest, length);

  g_autofree char *valid = g_utf8_make_valid (decoded, decoded_length);
  return g_str_equal (streamed->str, valid);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 4)
    {
      fprintf (stderr, "usage: tok-batch TOKENIZER SEGMENTS.json OUT.json\n");
      return 2;
    }
  g_autoptr(FsTokenizer) tokenizer = fs_tokenizer_load (argv[1], &error);
  g_autoptr(cJSON) segments = tokenizer != NULL ? fs_json_load (argv[2], &error) : NULL;
  if (segments == NULL)
    {
      fprintf (stderr, "tok-batch: %s\n", error->message);
      return 1;
    }

  g_autoptr(cJSON) out = cJSON_CreateObject ();
  cJSON *all_ids = cJSON_AddArrayToObject (out, "ids");
  cJSON *roundtrip = cJSON_AddArrayToObject (out, "roundtrip_failures");
  cJSON *stream = cJSON_AddArrayToObject (out, "stream_failures");
  double seconds = 0, cpu = 0;
  gsize bytes = 0;
  int index = 0;
  const cJSON *segment;

  cJSON_ArrayForEach (segment, segments)
    {
      const char *text = cJSON_GetStringValue (segment);
      gsize n_ids, length, text_length = strlen (text);

      gint64 start = g_get_monotonic_time ();
      double cpu_start = cpu_seconds ();
      g_autofree int32_t *ids = fs_tokenizer_encode (tokenizer, text, text_length, &n_ids);
      cpu += cpu_seconds () - cpu_start;
      seconds += (g_get_monotonic_time () - start) / 1e6;
      bytes += text_length;

      cJSON *array = cJSON_CreateArray ();
      for (gsize i = 0; i < n_ids; i++)
        cJSON_AddItemToArray (array, cJSON_CreateNumber (ids[i]));
      cJSON_AddItemToArray (all_ids, array);

      g_autofree char *decoded = fs_tokenizer_decode (tokenizer, ids, n_ids, &length);
      if (length != text_length || memcmp (decoded, text, length) != 0)
        cJSON_AddItemToArray (roundtrip, cJSON_CreateNumber (index));
      if (!stream_matches (tokenizer, ids, n_ids, decoded, length))
        cJSON_AddItemToArray (stream, cJSON_CreateNumber (index));
      index++;
    }
  cJSON_AddNumberToObject (out, "encode_seconds", seconds);
  cJSON_AddNumberToObject (out, "encode_cpu_seconds", cpu);
  cJSON_AddNumberToObject (out, "bytes", (double) bytes);
  cJSON_AddBoolToObject (out, "sanitized", SANITIZED);

  g_autofree char *printed = cJSON_PrintUnformatted (out);
  if (!g_file_set_contents (argv[3], printed, -1, &error))
    {
      fprintf (stderr, "tok-batch: %s\n", error->message);
      return 1;
    }
  return 0;
}
