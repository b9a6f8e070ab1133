/*
 * login.h: aeauth.login() and its settings.
 */
#ifndef AEAUTH_LOGIN_H
#define AEAUTH_LOGIN_H

#include "postgres.h"

#include "utils/uuid.h"

extern int	aeauth_ip_max_failures;
extern int	aeauth_ip_window_ms;
extern int	aeauth_trusted_device_days;
extern bool aeauth_require_verified_email;

/*
 * For change_password (account.c), so that a wrong current password counts exactly like a
 * failed login.  login_count_account_failure(): the same atomic UPDATE on the account's counter
 * and progressive lock, and the account_locked security event when this failure engages the
 * lock; true then.  Needs the 1.4 schema; connects to SPI itself.
 * login_audit_lock_expired(): the account_unlocked (lock_expired) event login writes when it
 * finds that a lock has run out.
 */
extern bool login_count_account_failure(const pg_uuid_t *user_id);
extern void login_audit_lock_expired(const pg_uuid_t *user_id);

extern void LoginInit(void);

#endif							/* AEAUTH_LOGIN_H */
