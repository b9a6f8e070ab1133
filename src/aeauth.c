/*
 * aeauth.c: module entry point.  _PG_init only calls the Init() of each part.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "aeauth.h"
#include "audit.h"
#include "direct.h"
#include "guc.h"
#include "login.h"
#include "password.h"
#include "recovery.h"
#include "session.h"
#include "version.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	GucInit();
	DirectInit();
	AuditInit();
	SessionInit();
	PasswordInit();
	RecoveryInit();
	LoginInit();
	VersionInit();

	/*
	 * Last, once every part has defined its settings: reserving the prefix removes the
	 * placeholders of aeauth.* settings not defined yet, and with them any value given in
	 * postgresql.conf, ALTER DATABASE or ALTER ROLE for a setting a later Init() defines.
	 */
	MarkGUCPrefixReserved("aeauth");
}

PG_FUNCTION_INFO_V1(aeauth_library_version);

/* The version of the loaded aeauth.so (aeauth.control's default_version when it was built). */
Datum
aeauth_library_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AEAUTH_VERSION));
}
