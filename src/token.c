/*
 * token.c: generation, parsing and hashing of opaque tokens (see token.h).
 */
#include "postgres.h"

#include <sodium.h>

#include "common/base64.h"
#include "port.h"
#include "utils/builtins.h"

#include "aeauth.h"
#include "parse.h"
#include "token.h"

/*
 * libsodium's SHA-256 (linked already for argon2id): no allocation, no OpenSSL context and no
 * resource-owner bookkeeping per call, which PostgreSQL's cryptohash with OpenSSL pays on every
 * hash (validate_session hashes one token per request).  Same digest (FIPS 180-4).
 */
void
token_sha256(const void *data, size_t len, uint8 out[TOKEN_HASH_LEN])
{
	StaticAssertStmt(TOKEN_HASH_LEN == crypto_hash_sha256_BYTES, "SHA-256 digest length");
	if (crypto_hash_sha256(out, data, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: could not compute SHA-256")));
}

char *
token_from_bytes(const char *prefix, const uint8 bytes[TOKEN_RANDOM_BYTES],
				 uint8 hash_out[TOKEN_HASH_LEN])
{
	size_t		plen = strlen(prefix);
	char		b64[48];		/* pg_b64_enc_len(32) = 44 */
	char	   *out;
	int			n;

	n = pg_b64_encode((const char *) bytes, TOKEN_RANDOM_BYTES, b64, sizeof(b64));
	if (n != TOKEN_B64_LEN + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: unexpected base64 length %d", n)));

	out = palloc(plen + TOKEN_B64_LEN + 1);
	memcpy(out, prefix, plen);
	for (int i = 0; i < TOKEN_B64_LEN; i++)
	{
		char		c = b64[i];

		out[plen + i] = (c == '+') ? '-' : (c == '/') ? '_' : c;
	}
	out[plen + TOKEN_B64_LEN] = '\0';
	explicit_bzero(b64, sizeof(b64));

	token_sha256(out, plen + TOKEN_B64_LEN, hash_out);
	return out;
}

char *
token_generate(const char *prefix, uint8 hash_out[TOKEN_HASH_LEN])
{
	uint8		bytes[TOKEN_RANDOM_BYTES];
	char	   *out;

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: could not generate random bytes")));
	out = token_from_bytes(prefix, bytes, hash_out);
	explicit_bzero(bytes, sizeof(bytes));
	return out;
}

bool
token_parse(const char *prefix, const char *text, size_t len, uint8 hash_out[TOKEN_HASH_LEN])
{
	/* The shape check is pure (parse.c) and fuzzed in fuzz/. */
	if (!parse_token_shape(prefix, TOKEN_B64_LEN, text, len))
		return false;
	token_sha256(text, len, hash_out);
	return true;
}

Datum
token_hash_datum(const uint8 hash[TOKEN_HASH_LEN])
{
	bytea	   *b = palloc(VARHDRSZ + TOKEN_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + TOKEN_HASH_LEN);
	memcpy(VARDATA(b), hash, TOKEN_HASH_LEN);
	return PointerGetDatum(b);
}
