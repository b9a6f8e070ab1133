/*
 * login.h: aeauth.login() and its settings.
 */
#ifndef AEAUTH_LOGIN_H
#define AEAUTH_LOGIN_H

extern int	aeauth_ip_max_failures;
extern int	aeauth_ip_window_ms;
extern int	aeauth_trusted_device_days;
extern bool aeauth_require_verified_email;

extern void LoginInit(void);

#endif							/* AEAUTH_LOGIN_H */
