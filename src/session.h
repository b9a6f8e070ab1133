/*
 * session.h: sessions (one login on one device) and their tokens: the C interface.
 *
 * login (and anything else that authenticates a user) calls session_create(); password change
 * and reset and status changes call session_revoke_user().  Both must run inside a transaction
 * with SPI available (any SQL-callable C function); they connect to SPI themselves.
 */
#ifndef AEAUTH_SESSION_H
#define AEAUTH_SESSION_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/uuid.h"

/* What session_create() hands back: the only moment the plaintext tokens exist. */
typedef struct SessionTokens
{
	pg_uuid_t	session_id;
	char	   *access_token;	/* palloc'd "aea_..."; explicit_bzero it once sent */
	char	   *refresh_token;	/* palloc'd "aer_..."; explicit_bzero it once sent */
	TimestampTz access_expires_at;
	TimestampTz refresh_expires_at;
	int			risk_score;		/* 0..100, see README "Risk" */
	bool		is_suspicious;	/* risk_score > aeauth.session_risk_threshold */
} SessionTokens;

/*
 * Creates a session for an existing, active user (raises 22023 otherwise): two fresh tokens,
 * expiries from aeauth.access_token_ttl / refresh_token_ttl / session_absolute_timeout, a risk
 * score against the user's recent sessions, and an audit event.  When the user already has
 * aeauth.max_sessions_per_user live sessions, the least recently used ones are revoked
 * (revoked_by 'system', NOTIFY sent).  ip is an inet Datum used when has_ip; strings may be NULL.
 * Serialized per user by a row lock on aeauth.users.  user_locked: the caller already holds
 * that lock in this transaction (an UPDATE of the row, or FOR NO KEY UPDATE) and saw the user
 * active under it, as login's success UPDATE does; the lock-and-check statement is skipped.
 */
/*
 * Raises 22023 when device_type or device_name is longer than its column (50 / 100
 * characters); either may be NULL.  session_create() checks too; login calls it before looking
 * at the password, so that the answer never depends on whether the password was right.
 */
extern void session_check_device_fields(const char *device_type, const char *device_name);

extern void session_create(const pg_uuid_t *user_id, Datum ip, bool has_ip,
						   const char *user_agent, const char *device_type,
						   const char *device_name, bool is_trusted, bool user_locked,
						   SessionTokens *out);

/*
 * Revokes the user's live sessions, all but except_id when that is not NULL, recording
 * revoked_by ('user', 'admin', 'system', 'security'); returns how many were revoked.
 * Each revoked session sends NOTIFY aeauth_session_revoked (delivered at commit).
 * Used by password change and reset and by status changes.
 */
extern int64 session_revoke_user(const pg_uuid_t *user_id, const pg_uuid_t *except_id,
								 const char *revoked_by);

/* Revokes one session; false when it was not live.  Sends the NOTIFY. */
extern bool session_revoke(const pg_uuid_t *session_id, const char *revoked_by);

extern void SessionInit(void);

#endif							/* AEAUTH_SESSION_H */
