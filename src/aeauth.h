/*
 * aeauth.h: what every part of aeauth shares.
 */
#ifndef AEAUTH_H
#define AEAUTH_H

#include "postgres.h"

#ifndef AEAUTH_VERSION
#error "AEAUTH_VERSION must come from the Makefile (aeauth.control's default_version)"
#endif

/* SQLSTATE classes used across the API (see ../shared/API.md) */
#define AEAUTH_ERRCODE_BAD_INPUT	ERRCODE_INVALID_PARAMETER_VALUE /* 22023 */
#define AEAUTH_ERRCODE_NULL		ERRCODE_NULL_VALUE_NOT_ALLOWED	/* 22004 */

#endif							/* AEAUTH_H */
