-- Bad input, 1.6 additions to the catalogue of 62_bad_input.sql: passwords made of invisible
-- characters (zero-width, other default-ignorable code points, controls, separators), email
-- look-alikes that fold to a taken address under NFKC, folding that breaks the syntax, and wrong
-- current passwords that must now be counted.  Same answers as there: "result <value>" or
-- "error <SQLSTATE>", plus " wrote users" / " wrote sessions" when the call changed them; an
-- error must write nothing at all (audit log included).
BEGIN;
SELECT plan(42);
SET LOCAL aeauth.argon2_memory_kib = 64;
SET LOCAL aeauth.argon2_iterations = 1;
SET LOCAL aeauth.max_failed_attempts = 100;	-- the lock is 63's and 66's subject

SELECT aeauth.register_user('alice@example.com', 'alice', 'Alice-pass-2024') AS alice \gset
SELECT aeauth.request_password_reset('alice@example.com') AS rtok \gset
CREATE TEMP TABLE t64_v AS SELECT :'alice'::uuid AS alice, :'rtok'::text AS rtok;

-- One call, its answer and what it changed: digests of users and sessions, the audit row count.
CREATE FUNCTION pg_temp.t64_run(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    before text[];
    after text[];
    answer text;
BEGIN
    before := ARRAY[(SELECT md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM aeauth.users u),
                    (SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.id), '')) FROM aeauth.user_sessions s),
                    (SELECT count(*)::text FROM aeauth.user_audit_log)];
    BEGIN
        EXECUTE q INTO answer;
        answer := 'result ' || coalesce(answer, 'NULL');
    EXCEPTION WHEN OTHERS THEN
        answer := 'error ' || SQLSTATE;
    END;
    after := ARRAY[(SELECT md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM aeauth.users u),
                   (SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.id), '')) FROM aeauth.user_sessions s),
                   (SELECT count(*)::text FROM aeauth.user_audit_log)];
    RETURN answer
        || CASE WHEN answer LIKE 'error %' AND after[3] <> before[3] THEN ' wrote audit' ELSE '' END
        || CASE WHEN after[1] <> before[1] THEN ' wrote users' ELSE '' END
        || CASE WHEN after[2] <> before[2] THEN ' wrote sessions' ELSE '' END;
END
$f$;
-- The email a registration stored (a statement of its own sees the new row).
CREATE FUNCTION pg_temp.t64_stored_email(e text, u text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    new_id uuid := aeauth.register_user(e, u, 'Stored-pass-2024');
BEGIN
    RETURN (SELECT x.email FROM aeauth.users x WHERE x.id = new_id);
END
$f$;

CREATE TEMP TABLE t64_cases (n int, label text, expected text, q text);
INSERT INTO t64_cases VALUES
  -- passwords with no visible character, or too few
  (1, 'register: ten U+200B', 'error 22023', $q$SELECT aeauth.register_user('p1@example.com', 'p1user', repeat(E'\u200b', 10))$q$),
  (2, 'register: ten U+200C', 'error 22023', $q$SELECT aeauth.register_user('p2@example.com', 'p2user', repeat(E'\u200c', 10))$q$),
  (3, 'register: ten U+200D', 'error 22023', $q$SELECT aeauth.register_user('p3@example.com', 'p3user', repeat(E'\u200d', 10))$q$),
  (4, 'register: ten U+2060', 'error 22023', $q$SELECT aeauth.register_user('p4@example.com', 'p4user', repeat(E'\u2060', 10))$q$),
  (5, 'register: ten U+FEFF', 'error 22023', $q$SELECT aeauth.register_user('p5@example.com', 'p5user', repeat(E'\ufeff', 10))$q$),
  (6, 'register: ten soft hyphens', 'error 22023', $q$SELECT aeauth.register_user('p6@example.com', 'p6user', repeat(E'\u00ad', 10))$q$),
  (7, 'register: ten tag spaces U+E0020', 'error 22023', $q$SELECT aeauth.register_user('p7@example.com', 'p7user', repeat(E'\U000e0020', 10))$q$),
  (8, 'register: ten variation selectors U+FE0F', 'error 22023', $q$SELECT aeauth.register_user('p8@example.com', 'p8user', repeat(E'\ufe0f', 10))$q$),
  (9, 'register: ten Hangul fillers U+3164', 'error 22023', $q$SELECT aeauth.register_user('p9@example.com', 'p9user', repeat(E'\u3164', 10))$q$),
  (10, 'register: ten line separators U+2028', 'error 22023', $q$SELECT aeauth.register_user('p10@example.com', 'p10user', repeat(E'\u2028', 10))$q$),
  (11, 'register: four visible, tabs and newlines', 'error 22023', $q$SELECT aeauth.register_user('p11@example.com', 'p11user', E'ab\t\tcd\n\n\r\r')$q$),
  (12, 'register: seven visible and a zero-width space', 'error 22023', $q$SELECT aeauth.register_user('p12@example.com', 'p12user', E'Abcdef1\u200b')$q$),
  (13, 'register: eight visible and a zero-width space', 'result true wrote users',
   $q$SELECT aeauth.register_user('p13@example.com', 'p13user', E'Abcdef12\u200b') IS NOT NULL$q$),
  (14, 'hash_password: ten U+FEFF', 'error 22023', $q$SELECT aeauth.hash_password(repeat(E'\ufeff', 10))$q$),
  (15, 'set_password: ten U+2060', 'error 22023', $q$SELECT aeauth.set_password((SELECT alice FROM t64_v), repeat(E'\u2060', 10))$q$),
  (16, 'change_password: right current, new of ten U+200B', 'error 22023',
   $q$SELECT aeauth.change_password((SELECT alice FROM t64_v), 'Alice-pass-2024', repeat(E'\u200b', 10))$q$),
  (17, 'reset_password: new of ten U+200D', 'error 22023',
   $q$SELECT aeauth.reset_password((SELECT rtok FROM t64_v), repeat(E'\u200d', 10))$q$),
  (18, 'verify_password: ten U+200B against a hash (no policy on verify)', 'result false',
   $q$SELECT aeauth.verify_password(repeat(E'\u200b', 10), '$argon2id$v=19$m=64,t=1,p=1$W8xPcVqX9ba4T2m8/2nXUQ$1/8xarA4c1ch+zynp7SRoz0dbMrbDyERNGGP3po76GY')$q$),
  (19, 'verify_password: nine U+200B, its own legacy hash', 'result true',
   $q$SELECT aeauth.verify_password(repeat(E'\u200b', 9), '$argon2id$v=19$m=64,t=1,p=1$W8xPcVqX9ba4T2m8/2nXUQ$1/8xarA4c1ch+zynp7SRoz0dbMrbDyERNGGP3po76GY')$q$),
  -- wrong current passwords are counted now
  (20, 'change_password: wrong current', 'result invalid_credentials wrote users',
   $q$SELECT aeauth.change_password((SELECT alice FROM t64_v), 'wrong-pass-2024', 'New-pass-2024x')$q$),
  (21, 'change_password: wrong current, new of ten U+200B (no policy before the password)', 'result invalid_credentials wrote users',
   $q$SELECT aeauth.change_password((SELECT alice FROM t64_v), 'wrong-pass-2024', repeat(E'\u200b', 10))$q$),
  (22, 'change_password: empty current', 'result invalid_credentials wrote users',
   $q$SELECT aeauth.change_password((SELECT alice FROM t64_v), '', 'New-pass-2024x')$q$),
  (23, 'change_password: current with a zero-width space added', 'result invalid_credentials wrote users',
   $q$SELECT aeauth.change_password((SELECT alice FROM t64_v), E'Alice-pass-2024\u200b', 'New-pass-2024x')$q$),
  -- email look-alikes
  (24, 'register: full-width look-alike of a taken email', 'error 23505',
   $q$SELECT aeauth.register_user(E'\uff41\uff4c\uff49\uff43\uff45@example.com', 'bob1', 'Bob-pass-2024')$q$),
  (25, 'register: full-width @ in a taken email', 'error 23505',
   $q$SELECT aeauth.register_user(E'alice\uff20example.com', 'bob2', 'Bob-pass-2024')$q$),
  (26, 'register: full-width dot in a taken domain', 'error 23505',
   $q$SELECT aeauth.register_user(E'alice@example\uff0ecom', 'bob3', 'Bob-pass-2024')$q$),
  (27, 'register: mathematical bold letters of a taken email', 'error 23505',
   $q$SELECT aeauth.register_user(E'\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e@example.com', 'bob4', 'Bob-pass-2024')$q$),
  (28, 'register: ligature U+FB01 stored folded', E'result fiona@example.com wrote users',
   $q$SELECT pg_temp.t64_stored_email(E'\ufb01ona@example.com', 'fiona')$q$),
  (29, 'register: the ASCII form of that ligature', 'error 23505',
   $q$SELECT aeauth.register_user('FIONA@example.com', 'bob5', 'Bob-pass-2024')$q$),
  (30, 'register: folding makes a second @', 'error 22023',
   $q$SELECT aeauth.register_user(E'bob\uff20bob@example.com', 'bob6', 'Bob-pass-2024')$q$),
  (31, 'register: folding makes a space (U+3000 inside)', 'error 22023',
   $q$SELECT aeauth.register_user(E'bob\u3000bob@example.com', 'bob7', 'Bob-pass-2024')$q$),
  (32, 'register: Mongolian free variation selector U+180B in email', 'error 22023',
   $q$SELECT aeauth.register_user(E'bob\u180b@example.com', 'bob8', 'Bob-pass-2024')$q$),
  (33, 'register: musical format control U+1D173 in email', 'error 22023',
   $q$SELECT aeauth.register_user(E'bob\U0001d173@example.com', 'bob9', 'Bob-pass-2024')$q$),
  (34, 'register: U+FDFA (18 characters folded) makes the local part too long', 'error 22023',
   $q$SELECT aeauth.register_user(repeat(E'\ufdfa', 4) || '@example.com', 'bob10', 'Bob-pass-2024')$q$),
  (35, 'import_user: full-width look-alike of a taken email', 'error 23505',
   $q$SELECT aeauth.import_user(E'\uff41lice@example.com', 'bob11', '$2y$04$cavdehlkbl0TiJFh/DOtzukby.3CVCkpxBARsxTN/05sJlXJF2H8.')$q$),
  (36, 'login: full-width email (of case 13), right password', 'result ok wrote users wrote sessions',
   $q$SELECT status FROM aeauth.login(E'\uff50\uff11\uff13\uff20example.com', E'Abcdef12\u200b')$q$),
  (37, 'login: full-width email, wrong password', 'result invalid_credentials wrote users',
   $q$SELECT status FROM aeauth.login(E'\uff41lice@example.com', 'wrong-pass-2024')$q$),
  (41, 'login: 10 MB full-width email identifier (not folded: no email is that long)', 'result invalid_credentials',
   $q$SELECT status FROM aeauth.login(repeat(E'\uff41', 3500000) || '@example.com', 'Alice-pass-2024')$q$),
  (38, 'login: zero-width space in the email', 'result invalid_credentials',
   $q$SELECT status FROM aeauth.login(E'alice\u200b@example.com', 'Alice-pass-2024')$q$),
  (39, 'request_password_reset: full-width look-alike (1.7: the token is a row of password_reset_tokens, see 63)', 'result true',
   $q$SELECT aeauth.request_password_reset(E'\uff41lice@example.com') IS NOT NULL$q$),
  (40, 'request_password_reset: look-alike with a zero-width space', 'error 22023',
   $q$SELECT aeauth.request_password_reset(E'\uff41lice\u200b@example.com')$q$);

SELECT is(pg_temp.t64_run(q), expected, format('%s: %s', label, expected)) FROM t64_cases ORDER BY n;
SELECT is((SELECT failed_login_attempts FROM aeauth.users WHERE id = :'alice'), 5,
          'four wrong current passwords and one wrong login: five on the one counter');

SELECT * FROM finish();
ROLLBACK;
