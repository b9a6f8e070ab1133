/*
 * parse.c: pure parsers of untrusted bytes; see parse.h.  Nothing here allocates, raises or
 * reads a setting: fuzz/ links this file alone.
 */
#include <string.h>

#include "parse.h"

/* A decimal without sign or leading zero into *v (<= max); advances *s.  False if malformed. */
static bool
parse_uint(const char **s, uint64_t max, uint64_t *v)
{
	const char *p = *s;
	uint64_t	x = 0;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return false;
	while (*p >= '0' && *p <= '9')
	{
		x = x * 10 + (uint64_t) (*p - '0');
		if (x > max)
			return false;
		p++;
	}
	*v = x;
	*s = p;
	return true;
}

static bool
expect(const char **s, const char *lit)
{
	size_t		n = strlen(lit);

	if (strncmp(*s, lit, n) != 0)
		return false;
	*s += n;
	return true;
}

/* A run of unpadded standard base64, and whether it decodes to min..max bytes. */
static bool
b64_field(const char **s, size_t min_bytes, size_t max_bytes)
{
	const char *p = *s;
	size_t		n;
	size_t		bytes;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		   (*p >= '0' && *p <= '9') || *p == '+' || *p == '/')
		p++;
	n = (size_t) (p - *s);
	if (n % 4 == 1)
		return false;
	bytes = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (bytes < min_bytes || bytes > max_bytes)
		return false;
	*s = p;
	return true;
}

const char *
parse_argon2id(const char *s, size_t max_len, uint64_t max_m, uint64_t max_t, uint64_t max_p,
			   Argon2Params *ap)
{
	uint64_t	v;

	if (strlen(s) >= max_len)
		return "longer than libsodium accepts";
	if (!expect(&s, "$argon2id$v=") || !parse_uint(&s, 0xFFFFFFFF, &v))
		return "no argon2id version";
	if (v != 19)
		return "argon2 version other than 19";
	if (!expect(&s, "$m=") || !parse_uint(&s, 0xFFFFFFFF, &ap->m) ||
		!expect(&s, ",t=") || !parse_uint(&s, 0xFFFFFFFF, &ap->t) ||
		!expect(&s, ",p=") || !parse_uint(&s, 0xFFFFFFFF, &ap->p))
		return "malformed parameters";
	if (ap->p < 1 || ap->p > max_p)
		return "parallelism p out of bounds";
	if (ap->m < 8 * ap->p || ap->m > max_m)
		return "memory cost m out of bounds";
	if (ap->t < 1 || ap->t > max_t)
		return "time cost t out of bounds";
	if (!expect(&s, "$") || !b64_field(&s, 8, 64))
		return "malformed salt";
	if (!expect(&s, "$") || !b64_field(&s, 16, 64))
		return "malformed hash";
	if (*s != '\0')
		return "trailing characters";
	return NULL;
}

static inline bool
is_bcrypt64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '/';
}

const char *
parse_bcrypt(const char *s, int max_cost)
{
	int			cost;

	if (strlen(s) != 60)
		return "bcrypt hash of the wrong length";
	if (s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$')
		return "unknown bcrypt variant";
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$')
		return "malformed bcrypt cost";
	cost = (s[4] - '0') * 10 + (s[5] - '0');
	if (cost < 4 || cost > max_cost)
		return "bcrypt cost out of bounds";
	for (int i = 7; i < 60; i++)
		if (!is_bcrypt64(s[i]))
			return "malformed bcrypt salt or hash";
	return NULL;
}

static inline bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
parse_token_shape(const char *prefix, size_t b64len, const char *text, size_t len)
{
	size_t		plen = strlen(prefix);
	char		last;
	int			v;

	if (b64len == 0 || len != plen + b64len || memcmp(text, prefix, plen) != 0)
		return false;
	for (size_t i = plen; i < len; i++)
		if (!is_b64url(text[i]))
			return false;

	/*
	 * 43 base64 characters carry 258 bits; a canonical encoding of 32 bytes has the last
	 * character's two low bits zero.  Refusing the other three spellings keeps one token per
	 * secret.
	 */
	last = text[len - 1];
	if (last >= 'A' && last <= 'Z')
		v = last - 'A';
	else if (last >= 'a' && last <= 'z')
		v = last - 'a' + 26;
	else if (last >= '0' && last <= '9')
		v = last - '0' + 52;
	else
		v = (last == '-') ? 62 : 63;
	return (v & 3) == 0;
}

/* The ASCII letter or digit c lower-cased, or 0 for anything else (skipped when matching). */
static inline char
key_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return (char) c;
	if (c >= 'A' && c <= 'Z')
		return (char) (c - 'A' + 'a');
	return 0;
}

/* Does part occur in the normalized key starting at the kept character at key[start]? */
static bool
match_at(const char *key, size_t len, size_t start, const char *part)
{
	size_t		i = start;

	for (const char *q = part; *q; q++)
	{
		char		c = 0;

		while (i < len && (c = key_char((unsigned char) key[i])) == 0)
			i++;
		if (i >= len || c != *q)
			return false;
		i++;
	}
	return true;
}

bool
parse_key_is_secret(const char *key, size_t len, const char *const *parts)
{
	/* Streaming, without a normalized copy: no allocation however long the key. */
	for (size_t start = 0; start < len; start++)
	{
		if (key_char((unsigned char) key[start]) == 0)
			continue;
		for (const char *const *p = parts; *p; p++)
			if (match_at(key, len, start, *p))
				return true;
	}
	return false;
}

bool
parse_is_invisible_codepoint(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) ||	/* Cc */
		c == 0x2028 || c == 0x2029 ||	/* Zl, Zp */
		c == 0x00AD || c == 0x034F || c == 0x061C ||
		(c >= 0x115F && c <= 0x1160) || (c >= 0x17B4 && c <= 0x17B5) ||
		(c >= 0x180B && c <= 0x180F) || (c >= 0x200B && c <= 0x200F) ||
		(c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
		c == 0x3164 || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
		(c >= 0xFFF0 && c <= 0xFFF8) || (c >= 0x1BCA0 && c <= 0x1BCA3) ||
		(c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE0FFF);
}
