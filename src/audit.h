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

#include "utils/uuid.h"

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
	const char *user_agent;		/* NULL: none */
	const char *metadata_json;	/* a JSON object as text, or NULL */
	const char *severity;		/* NULL: "info" */
} AuditEvent;

/* Inserts the event; returns its id in *id_out when id_out is not NULL. */
extern void audit_log_event(const AuditEvent *ev, pg_uuid_t *id_out);

extern void AuditInit(void);

#endif							/* AEAUTH_AUDIT_H */
