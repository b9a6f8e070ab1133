/*
 * password.c: argon2id (libsodium) and legacy bcrypt (libxcrypt) hashes, NFKC normalization
 * and the password policy.  See password.h for the contract.
 *
 * No cryptography is written here: argon2id is libsodium's crypto_pwhash_str_alg() and
 * crypto_pwhash_str_verify(), bcrypt is libxcrypt's crypt_rn() (Openwall's crypt_blowfish,
 * the code PHP uses), NFKC is PostgreSQL's unicode_normalize().  This file only parses stored
 * strings strictly enough to refuse parameters that would allocate or compute without bound
 * before handing them to the library.
 */
#include "postgres.h"

#include <crypt.h>
#include <sodium.h>

#include "catalog/pg_type.h"
#include "common/unicode_norm.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "aeauth.h"
#include "guc.h"
#include "hasher.h"
#include "parse.h"
#include "password.h"
#include "plan.h"

/* The dummy hash for unknown users, made once per backend for the current parameters. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static int	dummy_m = 0;
static int	dummy_t = 0;

static SPIPlanPtr policy_plan = NULL;

void
PasswordInit(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("aeauth: libsodium could not be initialized")));
}

/* A private context for one call: everything in it is freed when the call ends. */
static MemoryContext
password_context(void)
{
	return AllocSetContextCreate(CurrentMemoryContext, "aeauth password",
								 ALLOCSET_SMALL_SIZES);
}

/* Wipes a NUL-terminated palloc'd secret and frees it. */
static void
wipe_free(char *s, size_t len)
{
	if (s)
	{
		explicit_bzero(s, len);
		pfree(s);
	}
}

/*
 * NFKC form of a password in UTF-8, palloc'd and NUL-terminated, its byte length in *out_len
 * and its length in characters in *nchars.  The database must be UTF8 (aeauth's requirement:
 * passwords and identities are Unicode text).
 */
static char *
normalize_nfkc(const char *pw, size_t len, size_t *out_len, int *nchars)
{
	pg_wchar   *in;
	pg_wchar   *norm;
	size_t		n = 0;
	size_t		i;
	char	   *out;
	unsigned char *p;

	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aeauth requires a database with encoding UTF8")));

	in = palloc((len + 1) * sizeof(pg_wchar));
	for (i = 0; i < len;)
	{
		int			l = pg_utf_mblen((const unsigned char *) pw + i);

		if (i + l > len)
			break;				/* cannot happen for verified text; stay in bounds anyway */
		in[n++] = utf8_to_unicode((const unsigned char *) pw + i);
		i += l;
	}
	in[n] = 0;
	norm = unicode_normalize(UNICODE_NFKC, in);
	explicit_bzero(in, (len + 1) * sizeof(pg_wchar));
	pfree(in);

	for (n = 0; norm[n] != 0; n++)
		;
	out = palloc(n * 4 + 1);
	p = (unsigned char *) out;
	for (i = 0; i < n; i++)
	{
		unicode_to_utf8(norm[i], p);
		p += pg_utf_mblen(p);
	}
	*p = '\0';
	explicit_bzero(norm, n * sizeof(pg_wchar));
	pfree(norm);

	*out_len = (size_t) (p - (unsigned char *) out);
	*nchars = (int) n;
	return out;
}

static void
reject_too_long(size_t len)
{
	if (len > PASSWORD_MAX_BYTES)
		ereport(ERROR,
				(errcode(AEAUTH_ERRCODE_BAD_INPUT),
				 errmsg("password does not meet the password policy"),
				 errdetail("Passwords may be at most %d bytes long.", PASSWORD_MAX_BYTES)));
}

/*
 * The NFKC form without its invisible characters (parse_is_invisible_codepoint: controls, line
 * separators, default-ignorable code points such as U+200B, U+2060, U+FEFF), palloc'd; its byte
 * length in *out_len and its length in characters in *nchars.  Only the policy looks at it: what
 * is hashed, and so what a stored hash verifies against, stays the whole NFKC form.
 */
static char *
visible_form(const char *norm, size_t nlen, size_t *out_len, int *nchars)
{
	char	   *out = palloc(nlen + 1);
	size_t		o = 0;

	*nchars = 0;
	for (size_t i = 0; i < nlen;)
	{
		int			l = pg_utf_mblen((const unsigned char *) norm + i);

		if (i + l > nlen)
			break;
		if (!parse_is_invisible_codepoint(utf8_to_unicode((const unsigned char *) norm + i)))
		{
			memcpy(out + o, norm + i, l);
			o += l;
			(*nchars)++;
		}
		i += l;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

static void
policy_error(MemoryContext old, MemoryContext cxt, const char *rule) pg_attribute_noreturn();

/* Leaves the private context (its secrets already wiped) and raises 22023 naming the rule. */
static void
policy_error(MemoryContext old, MemoryContext cxt, const char *rule)
{
	char	   *r;

	MemoryContextSwitchTo(old);
	r = pstrdup(rule);			/* rule may live in cxt */
	MemoryContextDelete(cxt);
	ereport(ERROR,
			(errcode(AEAUTH_ERRCODE_BAD_INPUT),
			 errmsg("password does not meet the password policy"),
			 errdetail("%s", r)));
}

void
password_check_policy(const char *password, size_t len, const char *username, const char *email)
{
	MemoryContext cxt;
	MemoryContext old;
	char	   *norm;
	size_t		nlen;
	int			nchars;
	char	   *vis;
	size_t		vlen;
	int			vchars;
	const char *rule = NULL;

	reject_too_long(len);

	cxt = password_context();
	old = MemoryContextSwitchTo(cxt);
	norm = normalize_nfkc(password, len, &nlen, &nchars);
	vis = visible_form(norm, nlen, &vlen, &vchars);
	wipe_free(norm, nlen);

	if (nchars < aeauth_password_min_length)
	{
		wipe_free(vis, vlen);
		policy_error(old, cxt,
					 psprintf("Passwords must be at least %d characters long (counted after Unicode NFKC normalization).",
							  aeauth_password_min_length));
	}
	if (vchars < aeauth_password_min_length)
	{
		wipe_free(vis, vlen);
		policy_error(old, cxt,
					 psprintf("Passwords must be at least %d visible characters long (counted after Unicode NFKC normalization): control characters and default-ignorable code points (such as U+200B zero width space, U+2060 word joiner, U+FEFF) do not count.",
							  aeauth_password_min_length));
	}

	/*
	 * The identity and deny-list rules, compared NFKC, case-insensitively and without invisible
	 * characters ("password\u200b" is the listed "password"), in one query.
	 */
	plan_connect();
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		values[3];
		char		nulls[3] = {' ', ' ', ' '};
		text	   *pwtext = cstring_to_text_with_len(vis, vlen);
		bool		isnull;
		SPIPlanPtr	plan = plan_kept(&policy_plan,
									 "SELECT pg_catalog.lower($1) OPERATOR(pg_catalog.=)"
									 "       pg_catalog.lower(pg_catalog.normalize($2, 'NFKC')),"
									 "       pg_catalog.lower($1) OPERATOR(pg_catalog.=)"
									 "       pg_catalog.lower(pg_catalog.normalize($3, 'NFKC')),"
									 "       EXISTS (SELECT FROM aeauth.password_denylist d"
									 "                WHERE pg_catalog.lower(pg_catalog.normalize(d.password, 'NFKC'))"
									 "                      OPERATOR(pg_catalog.=) pg_catalog.lower($1))",
									 3, types);

		values[0] = PointerGetDatum(pwtext);
		values[1] = username ? CStringGetTextDatum(username) : (Datum) 0;
		nulls[1] = username ? ' ' : 'n';
		values[2] = email ? CStringGetTextDatum(email) : (Datum) 0;
		nulls[2] = email ? ' ' : 'n';
		plan_exec(plan, values, nulls, SPI_OK_SELECT, 1);

		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull)
			rule = "Passwords must not be equal to the username.";
		else if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)) && !isnull)
			rule = "Passwords must not be equal to the email address.";
		else if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)) && !isnull)
			rule = "Passwords must not be in the deny list (aeauth.password_denylist).";
		explicit_bzero(VARDATA(pwtext), vlen);
	}
	SPI_finish();

	wipe_free(vis, vlen);
	if (rule)
		policy_error(old, cxt, rule);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* argon2id with the given parameters into out (crypto_pwhash_STRBYTES), helper or here. */
static void
argon2id_hash(char out[crypto_pwhash_STRBYTES], const char *pw, size_t len, int t_cost,
			  int m_kib)
{
	bool		hashed;

	if (!hasher_hash(out, pw, len, t_cost, m_kib, &hashed))
		hashed = crypto_pwhash_str_alg(out, pw, len, (unsigned long long) t_cost,
									   (size_t) m_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) == 0;
	if (!hashed)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("aeauth: argon2id hashing failed"),
				 errdetail("libsodium could not allocate %d kB.", m_kib)));
}

char *
password_hash_new(const char *password, size_t len)
{
	MemoryContext cxt;
	MemoryContext old;
	char		out[crypto_pwhash_STRBYTES];
	char	   *norm;
	size_t		nlen;
	int			nchars;
	char	   *result;

	reject_too_long(len);
	cxt = password_context();
	old = MemoryContextSwitchTo(cxt);
	norm = normalize_nfkc(password, len, &nlen, &nchars);
	argon2id_hash(out, norm, nlen, aeauth_argon2_iterations, aeauth_argon2_memory_kib);
	wipe_free(norm, nlen);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	result = pstrdup(out);
	return result;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing stored hashes.
 */

/*
 * argon2id PHC strictly, within bounds: the parsers themselves are pure (parse.c, fuzzed in
 * fuzz/); here they get the current settings.  NULL if fine, else why not (for the server log:
 * names the defect, never the string).
 */
static const char *
argon2id_parse(const char *s, Argon2Params *ap)
{
	return parse_argon2id(s, crypto_pwhash_STRBYTES,
						  Max((uint64) PASSWORD_ARGON2_VERIFY_MAX_KIB, (uint64) aeauth_argon2_memory_kib),
						  Max((uint64) PASSWORD_ARGON2_VERIFY_MAX_T, (uint64) aeauth_argon2_iterations),
						  PASSWORD_ARGON2_VERIFY_MAX_P, ap);
}

static const char *
bcrypt_parse(const char *s)
{
	return parse_bcrypt(s, PASSWORD_BCRYPT_MAX_COST);
}

static PasswordHashKind
classify(const char *stored, Argon2Params *ap, const char **why)
{
	*why = NULL;
	if (strncmp(stored, "$argon2id$", 10) == 0)
	{
		*why = argon2id_parse(stored, ap);
		return *why ? PASSWORD_HASH_INVALID : PASSWORD_HASH_ARGON2ID;
	}
	if (strncmp(stored, "$2", 2) == 0)
	{
		*why = bcrypt_parse(stored);
		return *why ? PASSWORD_HASH_INVALID : PASSWORD_HASH_BCRYPT;
	}
	*why = "unknown hash format";
	return PASSWORD_HASH_INVALID;
}

PasswordHashKind
password_hash_kind(const char *stored_hash)
{
	Argon2Params ap;
	const char *why;

	return classify(stored_hash, &ap, &why);
}

static bool
weaker_than_current(const Argon2Params *ap)
{
	return ap->m < (uint64) aeauth_argon2_memory_kib || ap->t < (uint64) aeauth_argon2_iterations;
}

bool
password_needs_rehash(const char *stored_hash, bool *usable)
{
	Argon2Params ap;
	const char *why;
	PasswordHashKind kind = classify(stored_hash, &ap, &why);

	*usable = kind != PASSWORD_HASH_INVALID;
	if (kind == PASSWORD_HASH_BCRYPT)
		return true;
	return kind == PASSWORD_HASH_ARGON2ID && weaker_than_current(&ap);
}

/*
 * libsodium's verification of one candidate, in the helper process (hasher.c) or else here; the
 * stored string is copied to a full buffer.
 */
static bool
argon2id_check(const char *stored, const char *pw, size_t len)
{
	char		buf[crypto_pwhash_STRBYTES];
	bool		match;

	if (hasher_verify(stored, pw, len, &match))
		return match;
	memset(buf, 0, sizeof(buf));
	strlcpy(buf, stored, sizeof(buf));
	return crypto_pwhash_str_verify(buf, pw, len) == 0;
}

/* crypt_rn() on the first 72 bytes; constant-time comparison with the stored string. */
static bool
bcrypt_check(const char *stored, const char *pw, size_t len)
{
	struct crypt_data *cd = palloc0(sizeof(struct crypt_data));
	char		key[PASSWORD_BCRYPT_MAX_BYTES + 1];
	size_t		klen = Min(len, (size_t) PASSWORD_BCRYPT_MAX_BYTES);
	bool		ok = false;
	char	   *out;

	/*
	 * bcrypt keys Blowfish with the password's bytes and a terminating NUL, cycled to 72 bytes:
	 * only the first 72 bytes matter.  Cutting here gives the same answer and keeps libxcrypt's
	 * 512-byte passphrase limit (which the original libraries do not have) out of the way.
	 */
	memcpy(key, pw, klen);
	key[klen] = '\0';
	out = crypt_rn(key, stored, cd, sizeof(struct crypt_data));
	if (out != NULL && strlen(out) == 60)
		ok = sodium_memcmp(out, stored, 60) == 0;
	explicit_bzero(key, sizeof(key));
	explicit_bzero(cd, sizeof(struct crypt_data));
	pfree(cd);
	return ok;
}

bool
password_verify(const char *password, size_t len, const char *stored_hash, bool *needs_rehash)
{
	Argon2Params ap;
	const char *why;
	PasswordHashKind kind;
	MemoryContext cxt;
	MemoryContext old;
	bool		ok = false;

	if (needs_rehash)
		*needs_rehash = false;
	if (len > PASSWORD_MAX_BYTES)
		return false;

	kind = classify(stored_hash, &ap, &why);
	if (kind == PASSWORD_HASH_INVALID)
	{
		ereport(LOG,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("aeauth: stored password hash not usable: %s", why),
				 errdetail("The password was treated as wrong.")));
		return false;
	}

	cxt = password_context();
	old = MemoryContextSwitchTo(cxt);
	if (kind == PASSWORD_HASH_BCRYPT)
	{
		ok = bcrypt_check(stored_hash, password, len);
		if (ok && needs_rehash)
			*needs_rehash = true;
	}
	else
	{
		size_t		nlen;
		int			nchars;
		char	   *norm = normalize_nfkc(password, len, &nlen, &nchars);

		ok = argon2id_check(stored_hash, norm, nlen);
		if (!ok && (nlen != len || memcmp(norm, password, len) != 0))
			ok = argon2id_check(stored_hash, password, len);
		wipe_free(norm, nlen);
		if (ok && needs_rehash)
			*needs_rehash = weaker_than_current(&ap);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return ok;
}

void
password_dummy_verify(const char *password, size_t len)
{
	if (dummy_m != aeauth_argon2_memory_kib || dummy_t != aeauth_argon2_iterations)
	{
		uint8		secret[32];

		if (!pg_strong_random(secret, sizeof(secret)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("aeauth: could not generate random bytes")));
		argon2id_hash(dummy_hash, (const char *) secret, sizeof(secret),
					  aeauth_argon2_iterations, aeauth_argon2_memory_kib);
		explicit_bzero(secret, sizeof(secret));
		dummy_m = aeauth_argon2_memory_kib;
		dummy_t = aeauth_argon2_iterations;
	}
	(void) password_verify(password, len, dummy_hash, NULL);
}
