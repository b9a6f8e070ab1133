/*
 * libFuzzer target: stored password hash parsing (parse_argon2id and parse_bcrypt), the code
 * that reads a hash handed to import_user / verify_password before libsodium or libxcrypt see
 * it.  Checks more than "no crash": an accepted hash has the shape it claims.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/parse.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	Argon2Params ap;

	memcpy(s, data, size);
	s[size] = '\0';				/* the server's strings are NUL-terminated text */

	if (parse_argon2id(s, 128, 262144, 32, 16, &ap) == NULL)
	{
		if (strncmp(s, "$argon2id$v=19$m=", 17) != 0 || strlen(s) >= 128 ||
			ap.p < 1 || ap.p > 16 || ap.m < 8 * ap.p || ap.m > 262144 || ap.t < 1 || ap.t > 32)
			abort();
	}
	if (parse_bcrypt(s, 16) == NULL)
	{
		if (strlen(s) != 60 || s[0] != '$' || s[1] != '2' || s[6] != '$')
			abort();
	}
	free(s);
	return 0;
}
