/*
 * swift_demangle_stub.c: preloaded after the ASan runtime by `scripts/test.sh --sanitize=address`
 * so that an ASan runtime can be preloaded into Debian's (uninstrumented) PostgreSQL 15 binaries.
 *
 * Why: with LD_PRELOAD the runtime's own constructor runs last (the dynamic loader initialises the
 * deepest dependencies first), so ASan initialises lazily, inside the first intercepted call.  On
 * bookworm that call is the malloc() in glibc's bindtextdomain() (libgpg-error's constructor for
 * postgres; newlocale() in libp11-kit's for psql), made while glibc holds its locale lock
 * (_nl_state_lock / __libc_setlocale_lock) as writer.  ASan's initialisation looks up
 * "swift_demangle" with dlsym(); the lookup fails and dlerror() translates its message with
 * gettext, which read-locks the same lock: glibc answers EDEADLK without locking, gettext's
 * unlock then releases the caller's write lock, the caller's own unlock underflows the reader
 * count, and the next bindtextdomain() (PostgreSQL's set_pglocale_pgservice) waits forever.
 * Reproduced with gcc 12's libasan8 and clang 14's runtime.
 *
 * The fix: define swift_demangle, so the lookup succeeds and no error message is ever formatted.
 * ASan's symbolizer calls it for each name it prints; NULL means "not a Swift name" and the C++
 * demangler is used as usual.  No dependency, no libc call: safe before anything is initialised.
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *name, size_t name_len, char *out, size_t *out_len,
						   uint32_t flags);

char *
swift_demangle(const char *name, size_t name_len, char *out, size_t *out_len, uint32_t flags)
{
	(void) name;
	(void) name_len;
	(void) out;
	(void) out_len;
	(void) flags;
	return NULL;
}
