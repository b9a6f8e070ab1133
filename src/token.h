/*
 * token.h: opaque secret tokens (session, refresh, verification, reset).
 *
 * A token is a short readable prefix followed by 256 bits from pg_strong_random() in base64url
 * (43 characters, no padding).  Only SHA-256 of the whole token string is ever stored: a stolen
 * table gives nothing that can be presented.  Lookups go by the hash through a unique index,
 * so comparing secrets never happens byte by byte in C.
 */
#ifndef AEAUTH_TOKEN_H
#define AEAUTH_TOKEN_H

#include "postgres.h"

#define TOKEN_RANDOM_BYTES	32
#define TOKEN_B64_LEN		43	/* base64url of 32 bytes, unpadded */
#define TOKEN_HASH_LEN		32	/* SHA-256 */

/* Prefixes, so that secret scanners (and people) can tell tokens apart. */
#define TOKEN_PREFIX_ACCESS		"aea_"
#define TOKEN_PREFIX_REFRESH	"aer_"
#define TOKEN_PREFIX_VERIFY		"aev_"
#define TOKEN_PREFIX_RESET		"aep_"

/* A new token "<prefix><43 chars>" (palloc'd) and SHA-256 of it in hash_out. */
extern char *token_generate(const char *prefix, uint8 hash_out[TOKEN_HASH_LEN]);

/* The token built from given secret bytes (for derived tokens); hash in hash_out. */
extern char *token_from_bytes(const char *prefix, const uint8 bytes[TOKEN_RANDOM_BYTES],
							  uint8 hash_out[TOKEN_HASH_LEN]);

/*
 * Checks that text has the shape "<prefix><43 base64url chars>" and hashes it.  Returns false
 * for anything else (wrong prefix, length, alphabet, padding, whitespace): such input is never
 * looked up.
 */
extern bool token_parse(const char *prefix, const char *text, size_t len,
						uint8 hash_out[TOKEN_HASH_LEN]);

/* SHA-256 of len bytes. */
extern void token_sha256(const void *data, size_t len, uint8 out[TOKEN_HASH_LEN]);

/* bytea Datum of a hash (palloc'd), for SPI parameters. */
extern Datum token_hash_datum(const uint8 hash[TOKEN_HASH_LEN]);

#endif							/* AEAUTH_TOKEN_H */
