/*
 * version.h: the library's version against the installed SQL objects' version.
 *
 * aeauth.so is always the newest build on disk, but a database may hold older SQL objects (not
 * yet ALTER EXTENSION ... UPDATE) and a running backend keeps the aeauth.so it loaded first even
 * after the files on disk and the SQL were updated.  Every API entry point calls
 * version_require() first: a mismatch it cannot serve becomes a clear error (55000) with a hint,
 * never an SPI error about a missing column, never a crash.
 */
#ifndef AEAUTH_VERSION_CHECK_H
#define AEAUTH_VERSION_CHECK_H

#include "postgres.h"

/*
 * Raises 55000 object_not_in_prerequisite_state unless the installed SQL version of aeauth is at
 * least `min_sql` (the version whose objects the caller's queries need) and at most the
 * library's own version (a newer SQL than the library means this backend runs an old aeauth.so).
 * The installed version is read once per backend and read again after any invalidation of
 * pg_proc (every install or update script creates, replaces or grants on functions).  Does
 * nothing while an extension script runs.
 */
extern void version_require(const char *min_sql);

/*
 * Is the installed SQL version at least `min_sql`?  For code that has a faster path on a newer
 * schema and keeps the old one for databases not yet updated (call version_require() first).
 */
extern bool version_at_least(const char *min_sql);

extern void VersionInit(void);

#endif							/* AEAUTH_VERSION_CHECK_H */
