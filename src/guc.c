/*
 * guc.c: defines the aeauth.* settings.
 *
 * Every setting here changes how credentials are checked, so every one is PGC_SUSET: the
 * backend's role can neither SET it, nor ALTER ROLE ... SET it, nor set_config() it.
 * Defaults follow ../shared/API.md; units let a superuser write '1min' or '19MB'.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "aeauth.h"
#include "guc.h"

int			aeauth_argon2_memory_kib = 19456;
int			aeauth_argon2_iterations = 2;
bool		aeauth_hash_helper = true;
int			aeauth_password_min_length = 8;
int			aeauth_max_failed_attempts = 5;
int			aeauth_lockout_base_ms = 60 * 1000;
int			aeauth_lockout_max_ms = 60 * 60 * 1000;
bool		aeauth_paranoid = true;
int			aeauth_refresh_reuse_interval_ms = 10 * 1000;
int			aeauth_access_token_ttl_s = 15 * 60;
int			aeauth_refresh_token_ttl_s = 30 * 24 * 3600;
int			aeauth_session_idle_timeout_s = 7 * 24 * 3600;
int			aeauth_session_absolute_timeout_s = 90 * 24 * 3600;
int			aeauth_max_sessions_per_user = 10;
int			aeauth_session_risk_threshold = 50;
int			aeauth_password_reset_ttl_s = 24 * 60 * 60;
int			aeauth_email_verification_ttl_s = 48 * 60 * 60;

void
GucInit(void)
{
	DefineCustomIntVariable("aeauth.argon2_memory_kib",
							"Memory cost of new argon2id password hashes.",
							"OWASP's recommendation for argon2id is 19 MiB with 2 iterations.",
							&aeauth_argon2_memory_kib,
							19456, 8, 4 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.argon2_iterations",
							"Time cost (passes) of new argon2id password hashes.",
							NULL,
							&aeauth_argon2_iterations,
							2, 1, 64,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("aeauth.hash_helper",
							 "Compute argon2id hashes and verifications in a helper process.",
							 "One aeauth_hasher process per backend, started on its first hash; "
							 "off: the backend calls libsodium itself (same result, slower logins on some VMs).",
							 &aeauth_hash_helper,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.password_min_length",
							"Minimum password length, in characters after NFKC normalization.",
							NULL,
							&aeauth_password_min_length,
							8, 1, 256,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.max_failed_attempts",
							"Consecutive failed logins that lock an account.",
							NULL,
							&aeauth_max_failed_attempts,
							5, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.lockout_base",
							"Duration of the first lock; each further lock doubles it.",
							NULL,
							&aeauth_lockout_base_ms,
							60 * 1000, 1000, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.lockout_max",
							"Longest a lock lasts.",
							NULL,
							&aeauth_lockout_max_ms,
							60 * 60 * 1000, 1000, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("aeauth.paranoid",
							 "Report locked, disabled and unverified accounts as invalid_credentials.",
							 "The audit log keeps the true reason.",
							 &aeauth_paranoid,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.refresh_reuse_interval",
							"How long a rotated refresh token still returns the same new token pair.",
							"Presented again after this interval, it revokes the whole session.",
							&aeauth_refresh_reuse_interval_ms,
							10 * 1000, 0, 60 * 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.access_token_ttl",
							"Lifetime of an access token.",
							"The backend refreshes the session when it expires.",
							&aeauth_access_token_ttl_s,
							15 * 60, 1, 24 * 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.refresh_token_ttl",
							"Lifetime of a refresh token; each refresh issues a new one.",
							"Never beyond the session's absolute timeout.",
							&aeauth_refresh_token_ttl_s,
							30 * 24 * 3600, 60, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.session_idle_timeout",
							"A session without activity for this long is refused; 0 disables the limit.",
							"Activity is recorded at most once a minute, so the limit is exact to a minute.",
							&aeauth_session_idle_timeout_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.session_absolute_timeout",
							"Longest life of a session from its login; no refresh extends it.",
							"Applied to existing sessions too: it is measured from created_at when checked.",
							&aeauth_session_absolute_timeout_s,
							90 * 24 * 3600, 60, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.max_sessions_per_user",
							"Live sessions a user may have; a new one revokes the least recently used.",
							"0 means no limit.",
							&aeauth_max_sessions_per_user,
							10, 0, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.session_risk_threshold",
							"A new session whose risk score is above this is marked suspicious.",
							NULL,
							&aeauth_session_risk_threshold,
							50, 0, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.password_reset_ttl",
							"How long a password reset token stays valid.",
							"A newer token or a password change voids it earlier.",
							&aeauth_password_reset_ttl_s,
							24 * 60 * 60, 60, 30 * 24 * 60 * 60,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("aeauth.email_verification_ttl",
							"How long an email verification token stays valid.",
							NULL,
							&aeauth_email_verification_ttl_s,
							48 * 60 * 60, 60, 30 * 24 * 60 * 60,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}
