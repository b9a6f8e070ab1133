/*
 * session.h: sessions (one login on one device) and their tokens.
 */
#ifndef AEAUTH_SESSION_H
#define AEAUTH_SESSION_H

#include "postgres.h"

#include "utils/uuid.h"

/*
 * Revokes the user's live sessions, all but except_id when that is not NULL, recording
 * revoked_by ('user', 'admin', 'system', 'security'); returns how many were revoked.
 * Used by password change and reset and by status changes.
 */
extern int64 session_revoke_user(const pg_uuid_t *user_id, const pg_uuid_t *except_id,
								 const char *revoked_by);

extern void SessionInit(void);

#endif							/* AEAUTH_SESSION_H */
