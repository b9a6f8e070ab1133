/*
 * sodium_fn.c: a second reference for bench/run.sh's P1 cases -- libsodium's argon2id called
 * from a bare C function inside a PostgreSQL backend, with nothing of aeauth around it (no
 * normalization, no policy, no GUCs, no version check).  Against it, hash_password shows what
 * aeauth itself adds; against libsodium called in the client process (bench/pair.c) what
 * running inside a server backend adds.  Built and loaded by the
 * harness only (CREATE FUNCTION ... LANGUAGE C in the benchmark's own database).
 *   bench_sodium_hash(password text, memory_kib int4, iterations int4) RETURNS text
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_sodium_hash);

Datum
bench_sodium_hash(PG_FUNCTION_ARGS)
{
	text	   *pw = PG_GETARG_TEXT_PP(0);
	char		out[crypto_pwhash_STRBYTES];

	if (sodium_init() < 0 ||
		crypto_pwhash_str_alg(out, VARDATA_ANY(pw), VARSIZE_ANY_EXHDR(pw),
							  (unsigned long long) PG_GETARG_INT32(2),
							  (size_t) PG_GETARG_INT32(1) * 1024,
							  crypto_pwhash_ALG_ARGON2ID13) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("crypto_pwhash_str_alg failed")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
