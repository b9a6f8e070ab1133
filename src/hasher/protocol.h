/*
 * hasher/protocol.h: what a backend and its aeauth_hasher (aeauth_hasher.c) say to each other.
 *
 * One request at a time over two pipes: the backend writes an AeauthHasherRequest followed by
 * password_len bytes of password to the helper's stdin and reads one AeauthHasherAnswer from its
 * stdout.  The answer echoes the request's nonce (16 random bytes, new for every request) and
 * the backend takes no answer whose magic or nonce differ.  Both ends are built from the same
 * tree and run on the same machine: fields are in native byte order.
 *
 * Plain C (no PostgreSQL headers): the helper includes it as well as src/hasher.c.
 */
#ifndef AEAUTH_HASHER_PROTOCOL_H
#define AEAUTH_HASHER_PROTOCOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define AEAUTH_HASHER_PROGRAM	"aeauth_hasher"	/* installed in PostgreSQL's pkglibdir */
#define AEAUTH_HASHER_MAGIC		0x31484541u	/* "AEH1" */
#define AEAUTH_HASHER_NONCE		16
#define AEAUTH_HASHER_STRBYTES	128 /* libsodium's crypto_pwhash_STRBYTES */
/*
 * Passwords are at most 1024 bytes (PASSWORD_MAX_BYTES) before NFKC normalization, which can
 * make them longer: the helper takes up to 16 times that; the backend hashes anything longer
 * itself.
 */
#define AEAUTH_HASHER_MAX_PASSWORD	16384

/* Request operations. */
#define AEAUTH_HASHER_VERIFY	0x56455249u /* "VERI": stored against password */
#define AEAUTH_HASHER_HASH		0x48415348u /* "HASH": new argon2id string at t_cost, m_kib */

/* Answer statuses: none of them is zero, so that a zeroed answer means nothing. */
#define AEAUTH_HASHER_MATCH		0x4d415443u /* "MATC" */
#define AEAUTH_HASHER_NO_MATCH	0x4e4f4d41u /* "NOMA" */
#define AEAUTH_HASHER_HASHED	0x48534844u /* "HSHD" */
#define AEAUTH_HASHER_FAILED	0x4641494cu /* "FAIL": libsodium refused (memory, bounds) */

typedef struct AeauthHasherRequest
{
	uint32_t	magic;
	uint32_t	op;
	unsigned char nonce[AEAUTH_HASHER_NONCE];
	uint32_t	t_cost;			/* HASH */
	uint32_t	m_kib;			/* HASH */
	uint32_t	password_len;	/* bytes that follow this header */
	char		stored[AEAUTH_HASHER_STRBYTES]; /* VERIFY: NUL-terminated argon2id string */
} AeauthHasherRequest;

typedef struct AeauthHasherAnswer
{
	uint32_t	magic;
	uint32_t	status;
	unsigned char nonce[AEAUTH_HASHER_NONCE];
	char		out[AEAUTH_HASHER_STRBYTES];	/* HASHED: NUL-terminated argon2id string */
} AeauthHasherAnswer;

/*
 * Reads (writing = 0) or writes exactly n bytes on a blocking descriptor, again after EINTR.
 * 0 when done, -1 on end of file or error.
 */
static inline int
aeauth_hasher_io(int fd, void *buf, size_t n, int writing)
{
	char	   *p = buf;

	while (n > 0)
	{
		ssize_t		r = writing ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t) r;
	}
	return 0;
}

#endif							/* AEAUTH_HASHER_PROTOCOL_H */
