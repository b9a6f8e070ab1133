/*
 * account.h: accounts (registration, import, password change, status, unlock) and the
 * helpers the login and recovery code share with them.
 */
#ifndef AEAUTH_ACCOUNT_H
#define AEAUTH_ACCOUNT_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/uuid.h"

/*
 * Stores a new password hash for the user (rehash on use after a successful login with a bcrypt
 * or weaker argon2id hash; login calls this with password_hash_new() of the password it just
 * verified).  Does not touch sessions, tokens or the audit log.
 */
extern void account_store_password_hash(const pg_uuid_t *user_id, const char *hash);

/* Raises 22004 "<what> must not be NULL" when the argument is NULL. */
#define ACCOUNT_REQUIRE(fcinfo, n, what) \
	do { if (PG_ARGISNULL(n)) account_null_error(what); } while (0)
extern void account_null_error(const char *what) pg_attribute_noreturn();

/* Appends "key": "value" (JSON-escaped) to a JSON object being built; first says no comma. */
extern void account_json_field(StringInfo buf, const char *key, const char *value, bool first);

/*
 * The email trimmed of surrounding white space and folded to Unicode NFKC, after the syntax
 * check (22023 if invalid); *as_typed (if not NULL) gets the trimmed email before folding.
 */
extern char *account_clean_email(const char *raw, char **as_typed);

/* The NFKC form of an email or login identifier (SQL normalize(s, 'NFKC')), palloc'd. */
extern char *account_fold_email(const char *s);

/*
 * Password argument n: 22004 if NULL, 22023 if longer than PASSWORD_MAX_BYTES (checked from the
 * datum's header, before detoasting); its bytes (not NUL-terminated) and length otherwise.
 */
extern const char *account_password_arg(FunctionCallInfo fcinfo, int n, const char *what,
										size_t *len);

/* Raises 22023 "no user with this id" (admin functions given an unknown user). */
extern void account_no_user_error(void) pg_attribute_noreturn();

#endif							/* AEAUTH_ACCOUNT_H */
