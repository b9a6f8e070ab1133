/*
 * parse.h: pure parsers of untrusted bytes (stored password hashes, token shape, JSON key
 * names), free of palloc, ereport and server state, so that fuzz/ can build them into
 * libFuzzer targets without a server.  Callers in password.c, token.c and audit.c pass the
 * current settings in as arguments.
 */
#ifndef AEAUTH_PARSE_H
#define AEAUTH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Argon2Params
{
	uint64_t	m;
	uint64_t	t;
	uint64_t	p;
} Argon2Params;

/*
 * $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>, strictly, NUL-terminated, shorter than
 * max_len; m <= max_m, t <= max_t, 1 <= p <= max_p.  NULL if fine (parameters in *ap), else a
 * constant string naming the defect (for the server log: never the input).
 */
extern const char *parse_argon2id(const char *s, size_t max_len, uint64_t max_m, uint64_t max_t,
								  uint64_t max_p, Argon2Params *ap);

/* $2a$/$2b$/$2y$, two-digit cost 4..max_cost, 22 salt + 31 hash characters: NULL if fine. */
extern const char *parse_bcrypt(const char *s, int max_cost);

/*
 * Is text (len bytes, not necessarily NUL-terminated) "<prefix><b64len base64url characters>"
 * with the last character canonical for 32 bytes?  Wrong prefix, case, length, alphabet,
 * padding or whitespace: false.
 */
extern bool parse_token_shape(const char *prefix, size_t b64len, const char *text, size_t len);

/*
 * Does a JSON key (len bytes, any content) look like a secret: lower-cased and stripped of all
 * but ASCII letters and digits, does it contain one of the NULL-terminated parts?
 */
extern bool parse_key_is_secret(const char *key, size_t len, const char *const *parts);

/*
 * Is the Unicode code point invisible when a password is shown or typed: a control character
 * (general category Cc), a line or paragraph separator (U+2028, U+2029), or a default-ignorable
 * code point (Unicode 15 DerivedCoreProperties.txt, Default_Ignorable_Code_Point: U+00AD,
 * U+034F, U+061C, U+115F-1160, U+17B4-17B5, U+180B-180F, U+200B-200F, U+202A-202E,
 * U+2060-206F, U+3164, U+FE00-FE0F, U+FEFF, U+FFA0, U+FFF0-FFF8, U+1BCA0-1BCA3,
 * U+1D173-1D17A, U+E0000-E0FFF).  Such characters do not count toward a password's length.
 */
extern bool parse_is_invisible_codepoint(uint32_t c);

#endif							/* AEAUTH_PARSE_H */
