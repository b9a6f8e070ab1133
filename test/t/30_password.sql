-- Passwords: argon2id hashing, verification of argon2id and bcrypt, malformed hashes, policy,
-- NFKC, rehash detection, memory.  (Reference vectors: test/shell/password_vectors.sh.)
BEGIN;
SELECT plan(56);
-- Load the library, so that its settings exist for current_setting().
DO $$BEGIN PERFORM aeauth.library_version(); END$$;

-- Small argon2 parameters keep the suite fast; the defaults are checked first.
SELECT is((SELECT setting FROM pg_settings WHERE name = 'aeauth.argon2_memory_kib'), '19456', 'default memory cost is 19456 KiB');
SELECT is(current_setting('aeauth.argon2_iterations'), '2', 'default time cost is 2');
SELECT ok(aeauth.hash_password('correct horse') ~ '^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$',
          'a new hash is argon2id PHC with the default parameters and a 16-byte salt');

SET aeauth.argon2_memory_kib = 64;
SET aeauth.argon2_iterations = 1;
SELECT ok(aeauth.hash_password('correct horse') LIKE '$argon2id$v=19$m=64,t=1,p=1$%', 'the settings choose m and t');
SELECT isnt(aeauth.hash_password('correct horse'), aeauth.hash_password('correct horse'), 'each hash has its own salt');

CREATE TEMP TABLE h AS SELECT aeauth.hash_password('correct horse') AS hash;
SELECT ok(aeauth.verify_password('correct horse', (SELECT hash FROM h)), 'the right password verifies');
SELECT ok(NOT aeauth.verify_password('correct horsf', (SELECT hash FROM h)), 'a wrong password does not');
SELECT ok(NOT aeauth.verify_password('', (SELECT hash FROM h)), 'nor the empty password');

-- NFKC: the same password however it is typed.
CREATE TEMP TABLE n AS SELECT aeauth.hash_password(U&'caf\00E9 au lait') AS hash;
SELECT ok(aeauth.verify_password(U&'cafe\0301 au lait', (SELECT hash FROM n)), 'e + combining accent verifies against precomposed é');
SELECT ok(aeauth.verify_password(U&'caf\00E9 au lait', (SELECT hash FROM n)), 'precomposed é verifies');
SELECT ok(NOT aeauth.verify_password('cafe au lait', (SELECT hash FROM n)), 'plain e does not');
SELECT ok(aeauth.verify_password(U&'\FF50\FF41\FF53\FF53\FF57\FF4F\FF52\FF44', aeauth.hash_password('password')),
          'fullwidth letters are their NFKC ASCII form');
-- Imported argon2id made from non-normalized bytes (node-argon2 0.31.2 hashed "cafe" + U+0301)
-- still verifies with those bytes (fallback to the raw bytes when the NFKC form fails).
SELECT ok(aeauth.verify_password(U&'cafe\0301 au lait', '$argon2id$v=19$m=1024,t=2,p=1$UAt77rxdC65hfV9O+YmZng$qy9aeLie4rsUqTGGRc6yVG7N3o+45FbfHSFQN0X9Jjs'),
          'a foreign argon2id hash of non-NFKC bytes verifies with those bytes');
SELECT ok(NOT aeauth.verify_password('cafe au lait', '$argon2id$v=19$m=1024,t=2,p=1$UAt77rxdC65hfV9O+YmZng$qy9aeLie4rsUqTGGRc6yVG7N3o+45FbfHSFQN0X9Jjs'),
          'and not with other bytes');

-- Rehash detection (used by login and the admin utility).
SELECT ok(aeauth.password_needs_rehash('$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc') = false,
          'a hash with the current parameters needs no rehash');
SELECT ok(aeauth.password_needs_rehash('$argon2id$v=19$m=32,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'),
          'a smaller m needs a rehash');
SET aeauth.argon2_iterations = 2;
SELECT ok(aeauth.password_needs_rehash('$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'),
          'a smaller t needs a rehash');
SET aeauth.argon2_iterations = 1;
SELECT ok(aeauth.password_needs_rehash('$argon2id$v=19$m=128,t=3,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc') = false,
          'stronger parameters need none');
SELECT ok(aeauth.password_needs_rehash('$2b$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), 'bcrypt always needs a rehash');
SELECT is(aeauth.password_needs_rehash('$md5$nope'), NULL, 'an unusable hash has no answer');

-- bcrypt from another library (bcryptjs 2.4.3, see test/fixtures/README.md), all three prefixes.
SELECT ok(aeauth.verify_password('correct horse battery staple', '$2a$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), 'bcryptjs $2a$ verifies');
SELECT ok(aeauth.verify_password('correct horse battery staple', '$2b$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), '$2b$ spelling verifies');
SELECT ok(aeauth.verify_password('correct horse battery staple', '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), '$2y$ spelling verifies');
SELECT ok(NOT aeauth.verify_password('correct horse battery stapler', '$2a$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), 'a wrong password does not');
SELECT ok(NOT aeauth.verify_password('correct horse battery staple', '$2x$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.'), '$2x$ (the buggy variant) is not accepted');
SELECT ok(aeauth.verify_password('Pässwörd-ñandú', '$2a$04$PfcoRYV9LGepY03Qhwgqye2fVkaLIwahjcwiV8L8gpG3Z7TqsZe2q'), 'bcrypt of UTF-8 text verifies byte for byte');
-- 72-byte limit, exactly as bcrypt: byte 73 onwards is ignored, byte 72 is not.
SELECT ok(aeauth.verify_password(repeat('x', 72) || 'whatever follows', '$2a$04$erfWyojHyvas.0W1tqmbOOBLWAAzS4CjH6xKVkl7c/dI0Lr39lg8S'), 'bcrypt ignores bytes after 72');
SELECT ok(NOT aeauth.verify_password(repeat('x', 71), '$2a$04$erfWyojHyvas.0W1tqmbOOBLWAAzS4CjH6xKVkl7c/dI0Lr39lg8S'), 'but byte 72 counts');
SELECT ok(aeauth.verify_password(repeat('x', 600), '$2a$04$erfWyojHyvas.0W1tqmbOOBLWAAzS4CjH6xKVkl7c/dI0Lr39lg8S'), 'a 600-byte password is cut at 72 (libxcrypt alone would refuse > 512)');
-- argon2id from another library (node-argon2 0.31.2), p=2 included.
SELECT ok(aeauth.verify_password('Pässwörd-ñandú', '$argon2id$v=19$m=2048,t=3,p=2$hKGNkihwFcAwrUin37PD/Q$NaiTMTuUJibSCvh8pddCsG+3JTlRu3zTAVUmDAjbUdY'), 'node-argon2 hash with p=2 verifies');
-- PHC reference vector.
SELECT ok(aeauth.verify_password('password', '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'phc-winner-argon2 vector verifies');
SELECT ok(NOT aeauth.verify_password('passwore', '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'with a wrong password it does not');

-- Malformed or absurd stored hashes: false, never an error, never a huge allocation.
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'absurd m= is false (not a 4 TiB allocation)');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=99999999999999999999,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'overflowing m= is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=256,t=100000,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'absurd t= is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=256,t=2,p=255$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'absurd p= is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu'), 'a truncated argon2id hash is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ'), 'a hash without its hash part is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'argon2i (not id) is false');
SELECT ok(NOT aeauth.verify_password('password', '$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4'), 'argon2 version 16 is false');
SELECT ok(NOT aeauth.verify_password('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe'), 'a truncated bcrypt hash is false');
SELECT ok(NOT aeauth.verify_password('U*U', '$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'), 'bcrypt cost 31 is refused, not computed for hours');
SELECT ok(aeauth.verify_password('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'), 'the same vector with its real cost verifies');
SELECT ok(NOT aeauth.verify_password('x', 'plaintext-password'), 'an unknown format is false');
SELECT ok(NOT aeauth.verify_password('x', ''), 'an empty hash is false');
-- A password over 1024 bytes: false without hashing; refused by hash_password.
SELECT ok(NOT aeauth.verify_password(repeat('x', 1025), (SELECT hash FROM h)), 'verify: more than 1024 bytes is false');
SELECT throws_ok($$SELECT aeauth.hash_password(repeat('x', 10 * 1024 * 1024))$$, '22023', 'password does not meet the password policy',
                 'a 10 MB password is refused (22023)');
SELECT throws_ok($$SELECT aeauth.verify_password(NULL, 'x')$$, '22004', 'password must not be NULL', 'NULL password: 22004');
SELECT throws_ok($$SELECT aeauth.verify_password('x', NULL)$$, '22004', 'password_hash must not be NULL', 'NULL hash: 22004');
SELECT throws_ok($$SELECT aeauth.hash_password(NULL)$$, '22004', 'password must not be NULL', 'hash_password(NULL): 22004');

-- Policy through hash_password (length and deny list; identity rules: 35_accounts).
SELECT throws_like($$SELECT aeauth.hash_password('short')$$, '%password policy%', 'fewer than 8 characters is refused');
SELECT lives_ok($$SELECT aeauth.hash_password('12345678')$$, 'exactly 8 characters is accepted');
-- 8 characters as typed, fewer after NFKC? The ligature ﬁ (1 char) becomes "fi" (2): counted after NFKC.
SELECT lives_ok($$SELECT aeauth.hash_password(U&'\FB01\FB01\FB01\FB01')$$, 'four ligatures are 8 characters after NFKC');

-- Memory: hashing memory is released after each call.  After a warm-up, 1,000 argon2id and
-- 1,000 bcrypt verifications (plus 200 new hashes) in this backend leave the memory contexts and
-- the process's resident memory where they were.
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS
$$SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'VmRSS:\s+(\d+)')::bigint$$;
CREATE FUNCTION pg_temp.ctx_bytes() RETURNS bigint LANGUAGE sql AS $$SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts$$;
CREATE FUNCTION pg_temp.churn(n int) RETURNS int LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE aeauth.verify_password(CASE g % 2 WHEN 0 THEN 'correct horse' ELSE 'wrong horse' END, (SELECT hash FROM h))
                            OR aeauth.verify_password(CASE g % 2 WHEN 0 THEN 'U*U' ELSE 'U*V' END, '$2a$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW')
                            OR (g % 5 = 0 AND aeauth.hash_password('pw number ' || g) IS NULL))::int
    FROM generate_series(1, n) g$$;
SELECT pg_temp.churn(50) AS warm \gset
SELECT pg_temp.ctx_bytes() AS ctx0, pg_temp.rss_kb() AS rss0 \gset
SELECT pg_temp.churn(1000) AS n1 \gset
SELECT pg_temp.ctx_bytes() AS ctx1, pg_temp.rss_kb() AS rss1 \gset
SELECT is(:n1, 500, '1,000 rounds of verification ran (every other one a match)');
SELECT cmp_ok(:ctx1::bigint - :ctx0::bigint, '<=', 0::bigint, 'memory contexts hold no more than after the warm-up');
-- Under valgrind (scripts/test.sh --valgrind) the process's resident memory is mostly memcheck's
-- own shadow memory (about 10 MB more here): skipped there; the memory-context check above still
-- runs.  Under AddressSanitizer (--sanitize=address) it runs and passes.
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/maps') ~ 'vgpreload_memcheck' AS under_valgrind \gset
SELECT CASE WHEN :'under_valgrind'::boolean
  THEN skip('resident memory under valgrind is memcheck''s own', 1)
  ELSE cmp_ok(:rss1::bigint - :rss0::bigint, '<', 1024::bigint, 'resident memory grew by less than 1 MB') END;

SELECT * FROM finish();
ROLLBACK;
