/*
 * libFuzzer target: token shape check (parse_token_shape, used by token_parse for every token
 * the API receives).  Input: raw bytes, not NUL-terminated (as a text Datum's payload is).
 * An accepted token must be exactly "<prefix><43 base64url>".
 */
#include <stdlib.h>
#include <string.h>

#include "../src/parse.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const prefixes[] = {"aea_", "aer_", "aev_", "aep_"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	char	   *t = malloc(size ? size : 1);

	memcpy(t, data, size);
	for (int i = 0; i < 4; i++)
	{
		if (parse_token_shape(prefixes[i], 43, t, size))
		{
			if (size != 47 || memcmp(t, prefixes[i], 4) != 0)
				abort();
			for (size_t j = 4; j < size; j++)
				if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", t[j]) || t[j] == '\0')
					abort();
		}
	}
	free(t);
	return 0;
}
