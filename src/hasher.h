/*
 * hasher.h: argon2id in a helper process (the aeauth_hasher program, src/hasher/).
 *
 * With aeauth.hash_helper on (the default), each backend that hashes or verifies an argon2id
 * password starts one helper and keeps it until it exits; password.c asks it instead of calling
 * libsodium itself.  Both functions return false when the helper is off, cannot be started or
 * gave no valid answer: the caller then makes the same libsodium call in the backend, so an
 * answer is never lost and never taken from anywhere but the request it answers.
 * An error or cancel while waiting (statement_timeout, pg_cancel_backend) kills and reaps the
 * helper before the error goes on; the next request starts a new one.
 */
#ifndef AEAUTH_HASHER_H
#define AEAUTH_HASHER_H

#include "postgres.h"

/* stored: argon2id PHC string (shorter than 128 bytes).  *match: the password is right. */
extern bool hasher_verify(const char *stored, const char *pw, size_t len, bool *match);

/* A new argon2id string at t_cost, m_kib into out (128 bytes).  *hashed: libsodium succeeded. */
extern bool hasher_hash(char *out, const char *pw, size_t len, int t_cost, int m_kib,
						bool *hashed);

#endif							/* AEAUTH_HASHER_H */
