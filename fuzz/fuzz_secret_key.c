/*
 * libFuzzer target: the audit metadata key matcher (parse_key_is_secret, audit.c's scrubber).
 * Input: a JSON key's raw bytes, not NUL-terminated.  Cross-checked against the obvious
 * implementation (normalize into a copy, then strstr).
 */
#include <stdlib.h>
#include <string.h>

#include "../src/parse.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const parts[] = {
	"password", "passwd", "passphrase", "pwd", "secret", "token", "authorization", "apikey",
	"accesskey", "privatekey", "credential", "cookie", "sessionkey", NULL
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *k = malloc(size ? size : 1);
	char	   *norm = malloc(size + 1);
	size_t		n = 0;
	int			want = 0;

	memcpy(k, data, size);
	for (size_t i = 0; i < size; i++)
	{
		unsigned char c = data[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			norm[n++] = (char) c;
		else if (c >= 'A' && c <= 'Z')
			norm[n++] = (char) (c - 'A' + 'a');
	}
	norm[n] = '\0';
	for (const char *const *p = parts; *p; p++)
		want |= (strstr(norm, *p) != NULL);
	if (parse_key_is_secret(k, size, parts) != (want != 0))
		abort();
	free(norm);
	free(k);
	return 0;
}
