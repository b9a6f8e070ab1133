/*
 * recovery.h: email verification and password reset tokens (recovery.c).
 */
#ifndef AEAUTH_RECOVERY_H
#define AEAUTH_RECOVERY_H

extern void RecoveryInit(void);

#endif							/* AEAUTH_RECOVERY_H */
