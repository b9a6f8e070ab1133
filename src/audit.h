/*
 * audit.h: writing audit events from C.
 *
 * Every part of aeauth that records an event (login, refresh, lockout, admin actions) calls
 * audit_log_event(); the SQL function aeauth.log_user_event() is a thin wrapper over it.
 * Never put a password, a token or a token hash in any field: metadata is scrubbed of keys that
 * look like secrets, but the caller is the first line of defence.
 */
#ifndef AEAUTH_AUDIT_H
#define AEAUTH_AUDIT_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/uuid.h"

/*
 * The longest user agent an audit row keeps, in characters.  Real User-Agent headers stay well
 * under it.  aeauth.log_user_event() refuses a longer one (22023); audit_log_event() cuts it at
 * a character boundary, so that a login or a refresh never fails over a client's header.
 */
#define AUDIT_USER_AGENT_MAX 1024

typedef struct AuditEvent
{
	const pg_uuid_t *user_id;	/* NULL: no user (e.g. an unknown identifier) */
	const pg_uuid_t *session_id;	/* NULL: no session */
	const char *event_type;		/* e.g. "login", "logout", "password_change" */
	const char *event_category; /* "authentication", "security", "admin", ... */
	const char *action;
	const char *status;			/* "success", "failure", "partial", "pending" */
	Datum		ip_address;		/* an inet Datum, used when has_ip */
	bool		has_ip;
	const char *user_agent;		/* NULL: none; cut to AUDIT_USER_AGENT_MAX characters */
	const char *metadata_json;	/* a JSON object as text, or NULL */
	const char *severity;		/* NULL: "info" */
	/* Added in 1.1 (fields are only ever appended; designated initializers leave them 0). */
	const char *retention_policy;	/* "standard" (NULL), "extended", "permanent" */
	const char *request_params_json;	/* JSON as text, or NULL; scrubbed like metadata */
	Jsonb	   *metadata_jsonb;	/* when not NULL, used instead of metadata_json */
	Jsonb	   *request_params_jsonb;	/* when not NULL, used instead of request_params_json */
} AuditEvent;

/*
 * Checks the event (SQLSTATE 22004 for a missing required field, 22023 for a value outside its
 * documented set or longer than its column), decides its retention, scrubs secrets from the
 * JSON fields and inserts it; returns its id (a UUIDv7) in *id_out when id_out is not NULL.
 * Works whether or not the caller is SPI-connected (it connects and finishes on its own).
 * On error nothing is written.
 */
extern void audit_log_event(const AuditEvent *ev, pg_uuid_t *id_out);

extern void AuditInit(void);

#endif							/* AEAUTH_AUDIT_H */
