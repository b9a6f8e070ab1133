/*
 * guc.h: the aeauth.* settings.  All are PGC_SUSET: only a superuser may change them.
 */
#ifndef AEAUTH_GUC_H
#define AEAUTH_GUC_H

extern int	aeauth_argon2_memory_kib;
extern int	aeauth_argon2_iterations;
extern bool aeauth_hash_helper;
extern int	aeauth_password_min_length;
extern int	aeauth_max_failed_attempts;
extern int	aeauth_lockout_base_ms;
extern int	aeauth_lockout_max_ms;
extern bool aeauth_paranoid;
extern int	aeauth_refresh_reuse_interval_ms;
extern int	aeauth_access_token_ttl_s;
extern int	aeauth_refresh_token_ttl_s;
extern int	aeauth_session_idle_timeout_s;
extern int	aeauth_session_absolute_timeout_s;
extern int	aeauth_max_sessions_per_user;
extern int	aeauth_session_risk_threshold;
extern int	aeauth_password_reset_ttl_s;
extern int	aeauth_email_verification_ttl_s;

extern void GucInit(void);

#endif							/* AEAUTH_GUC_H */
