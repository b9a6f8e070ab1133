/*
 * version.c: library version versus installed SQL version (see version.h).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "aeauth.h"
#include "version.h"

/* The installed SQL version, as major * 1000 + minor; valid until pg_proc is invalidated. */
static bool sql_version_valid = false;
static int	sql_version = 0;
static char sql_version_text[NAMEDATALEN];

/* "1.5" -> 1005; -1 for anything else. */
static int
version_number(const char *v)
{
	int			major,
				minor;
	char		extra;

	if (sscanf(v, "%d.%d%c", &major, &minor, &extra) != 2 || major < 0 || minor < 0 || minor > 999)
		return -1;
	return major * 1000 + minor;
}

static void
version_forget(Datum arg, int cacheid, uint32 hashvalue)
{
	sql_version_valid = false;
}

/* Reads pg_extension.extversion of aeauth (an index probe on pg_extension_name_index). */
static void
version_read_installed(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	sql_version_text[0] = '\0';
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("aeauth"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			char	   *s = TextDatumGetCString(d);

			strlcpy(sql_version_text, s, sizeof(sql_version_text));
			pfree(s);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	sql_version = version_number(sql_version_text);
	sql_version_valid = true;
}

/* AEAUTH_VERSION as a number, parsed once. */
static int
library_version(void)
{
	static int	lib = -2;

	if (lib == -2)
		lib = version_number(AEAUTH_VERSION);
	return lib;
}

/*
 * Every min_sql and v the library asks for is a version of this library or an older one, so
 * when the installed SQL is the library's own version (the common case, once a database is
 * updated) every check passes without parsing anything: two comparisons per call.
 */
void
version_require(const char *min_sql)
{
	if (creating_extension)
		return;
	if (!sql_version_valid)
		version_read_installed();
	Assert(version_number(min_sql) <= library_version());
	if (sql_version == library_version())
		return;

	if (sql_version < 0 || sql_version > library_version())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aeauth library %s is older than the installed aeauth SQL objects (version %s)",
						AEAUTH_VERSION, sql_version_text[0] ? sql_version_text : "unknown"),
				 errdetail("This connection loaded aeauth.so before the extension was updated, or the installed aeauth.so is older than the database's extension."),
				 errhint("Open a new connection; if the error persists, install the aeauth build of version %s.",
						 sql_version_text[0] ? sql_version_text : "the extension")));
	if (sql_version < version_number(min_sql))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("aeauth SQL objects are at version %s, this function needs version %s or later",
						sql_version_text, min_sql),
				 errdetail("The installed aeauth.so is version %s; the database's extension has not been updated to it.",
						   AEAUTH_VERSION),
				 errhint("Run ALTER EXTENSION aeauth UPDATE in this database.")));
}

bool
version_at_least(const char *v)
{
	if (!sql_version_valid)
		version_read_installed();
	Assert(version_number(v) <= library_version());
	if (sql_version == library_version())
		return true;
	return sql_version >= version_number(v);
}

void
VersionInit(void)
{
	CacheRegisterSyscacheCallback(PROCOID, version_forget, (Datum) 0);
}
