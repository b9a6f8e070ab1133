/*
 * password.h: password hashing, verification and policy.
 *
 * New hashes are argon2id PHC strings made by libsodium with the current settings
 * (aeauth.argon2_memory_kib, aeauth.argon2_iterations).  Verification also accepts argon2id
 * with any (bounded) parameters and the legacy bcrypt formats $2a$, $2b$ and $2y$ (through the
 * system's libxcrypt, crypt_rn()).  Passwords are normalized to Unicode NFKC before hashing.
 *
 * All functions work in a private memory context that is deleted before they return, and wipe
 * every copy of the password (explicit_bzero) first; libsodium frees argon2's memory itself.
 * None of them ever puts the password or a hash into an error message.
 *
 * Used by the account functions (account.c, recovery.c) and by login: login calls
 * password_verify() for a known user (and stores password_hash_new() when *needs_rehash), and
 * password_dummy_verify() for an unknown one, so that both cost the same.
 */
#ifndef AEAUTH_PASSWORD_H
#define AEAUTH_PASSWORD_H

#include "postgres.h"

/* Passwords longer than this many bytes are refused before any hashing or normalization. */
#define PASSWORD_MAX_BYTES		1024

/* bcrypt uses the first 72 bytes of the password and ignores the rest. */
#define PASSWORD_BCRYPT_MAX_BYTES 72

/* Bounds for verifying stored argon2id hashes (see password.c: absurd m= must not allocate). */
#define PASSWORD_ARGON2_VERIFY_MAX_KIB	(256 * 1024)	/* or the current setting if higher */
#define PASSWORD_ARGON2_VERIFY_MAX_T	32	/* or the current setting if higher */
#define PASSWORD_ARGON2_VERIFY_MAX_P	16
/* bcrypt costs above this are refused (2^17 rounds is several seconds of CPU). */
#define PASSWORD_BCRYPT_MAX_COST		16

typedef enum PasswordHashKind
{
	PASSWORD_HASH_INVALID = 0,	/* malformed, unknown prefix, or parameters out of bounds */
	PASSWORD_HASH_ARGON2ID,
	PASSWORD_HASH_BCRYPT
} PasswordHashKind;

/*
 * Checks a new password against the policy and raises SQLSTATE 22023 with an errdetail naming
 * the broken rule (never the password): more than PASSWORD_MAX_BYTES bytes; fewer than
 * aeauth.password_min_length characters after NFKC; fewer than that many visible characters
 * (invisible ones, parse_is_invisible_codepoint(), do not count); equal to username or email,
 * or listed in aeauth.password_denylist (NFKC, case-insensitive, invisible characters left
 * out; username and email may be NULL).  Only new passwords are checked: verification hashes
 * the whole NFKC form, as before.  Needs SPI (it connects itself).
 */
extern void password_check_policy(const char *password, size_t len,
								  const char *username, const char *email);

/*
 * A new argon2id PHC string ($argon2id$v=19$m=...,t=...,p=1$salt$hash) of the NFKC form of the
 * password, with the current settings and a random 16-byte salt; palloc'd in the caller's
 * context.  Raises 22023 when len > PASSWORD_MAX_BYTES.  Does not check the policy.
 */
extern char *password_hash_new(const char *password, size_t len);

/*
 * Does the password match the stored hash (argon2id PHC or bcrypt $2a$/$2b$/$2y$)?
 *  - argon2id: the NFKC form is checked (what password_hash_new stores); when that fails and
 *    the password is not in NFKC, the bytes as given are tried too (hashes imported from
 *    systems that did not normalize).
 *  - bcrypt: the bytes as given, first 72 only, exactly as the original libraries do.
 *  - a malformed stored hash or out-of-bound parameters: false, and a LOG line in the server
 *    log (no hash, no password) -- never an error, never an unbounded allocation.
 *  - len > PASSWORD_MAX_BYTES: false without hashing.
 * On true, *needs_rehash (when not NULL) tells whether the hash is bcrypt or argon2id weaker
 * (smaller m or t) than the current settings: the caller should then store
 * password_hash_new() of the same password in the same transaction.
 */
extern bool password_verify(const char *password, size_t len, const char *stored_hash,
							bool *needs_rehash);

/*
 * The work of password_verify() against a hash with the current settings, for a user that
 * does not exist: an unknown user costs as much as a wrong password.  The result is discarded.
 */
extern void password_dummy_verify(const char *password, size_t len);

/*
 * Would this stored hash be replaced after a successful verification (bcrypt, or argon2id with
 * a smaller m or t than the current settings)?  *usable is false for a hash that cannot verify.
 */
extern bool password_needs_rehash(const char *stored_hash, bool *usable);

/* Which kind a stored hash is, after the same checks and bounds password_verify applies. */
extern PasswordHashKind password_hash_kind(const char *stored_hash);

extern void PasswordInit(void);

#endif							/* AEAUTH_PASSWORD_H */
