-- Bad input (issue 8): every API function with NULLs, empty strings, 10 MB strings, malformed
-- emails, Unicode edge cases (combining marks, full-width, zero-width, right-to-left),
-- malformed tokens (truncated, wrong prefix, wrong case, padding, whitespace, non-canonical),
-- hashes with absurd parameters, wrong statuses and categories.  Each case gets its documented
-- answer: a status (result ...) or an SQLSTATE (error ...): 22004 for a required NULL, 22023 for
-- a broken rule, 23505 for a taken email or username.  The answer also says whether the call
-- wrote users or sessions (" wrote users", " wrote sessions"); an error must write nothing at
-- all (audit log included), and the tokens tried with bad companions still work at the end.
-- Crashed backends are caught by scripts/test.sh reading the server log at the end.
BEGIN;
SELECT plan(125);
-- alice collects six counted failures below (five logins, one change_password since 1.6): room
-- for all of them before the lock, which 50_login and 63_hardening_16 test.
SET LOCAL aeauth.max_failed_attempts = 10;

SELECT aeauth.register_user('alice@example.com', 'alice', 'Alice-pass-2024') AS alice \gset
SELECT access_token AS acc, refresh_token AS ref, session_id AS sid FROM aeauth.create_session(:'alice') \gset
SELECT aeauth.request_email_verification(:'alice') AS vtok \gset
SELECT aeauth.request_password_reset('alice@example.com') AS rtok \gset
CREATE TEMP TABLE t62_v AS
  SELECT :'alice'::uuid AS alice, :'acc'::text AS acc, :'ref'::text AS ref, :'sid'::uuid AS sid,
         :'vtok'::text AS vtok, :'rtok'::text AS rtok;

-- What the extension holds, as digests: users, sessions (and rotated tokens), audit rows.
CREATE FUNCTION pg_temp.t62_state(OUT users text, OUT sessions text, OUT audit bigint) LANGUAGE sql AS $$
  SELECT (SELECT md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM aeauth.users u),
         (SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.id), '')) FROM aeauth.user_sessions s)
           || (SELECT count(*) FROM aeauth.session_rotated_tokens),
         (SELECT count(*) FROM aeauth.user_audit_log)
$$;

-- Runs one case: "result <value>" or "error <SQLSTATE>", plus what it wrote.
CREATE FUNCTION pg_temp.t62_case(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
    b record;
    a record;
    r text;
    outcome text;
BEGIN
    SELECT * INTO b FROM pg_temp.t62_state();
    BEGIN
        EXECUTE q INTO r;
        outcome := 'result ' || coalesce(r, 'NULL');
    EXCEPTION WHEN OTHERS THEN
        outcome := 'error ' || SQLSTATE;
    END;
    SELECT * INTO a FROM pg_temp.t62_state();
    IF outcome LIKE 'error %' AND a.audit <> b.audit THEN
        outcome := outcome || ' wrote audit';
    END IF;
    IF a.users <> b.users THEN outcome := outcome || ' wrote users'; END IF;
    IF a.sessions <> b.sessions THEN outcome := outcome || ' wrote sessions'; END IF;
    RETURN outcome;
END
$f$;

CREATE TEMP TABLE t62_cases (n int, label text, expected text, q text);
INSERT INTO t62_cases VALUES
  (1, $l$register: NULL email$l$, $e$error 22004$e$,
   $q$SELECT aeauth.register_user(NULL, 'bob', 'Bob-pass-2024')$q$),
  (2, $l$register: NULL username$l$, $e$error 22004$e$,
   $q$SELECT aeauth.register_user('bob@example.com', NULL, 'Bob-pass-2024')$q$),
  (3, $l$register: NULL password$l$, $e$error 22004$e$,
   $q$SELECT aeauth.register_user('bob@example.com', 'bob', NULL)$q$),
  (4, $l$register: empty email$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('', 'bob', 'Bob-pass-2024')$q$),
  (5, $l$register: empty username$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@example.com', '', 'Bob-pass-2024')$q$),
  (6, $l$register: empty password$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@example.com', 'bob', '')$q$),
  (7, $l$register: 10 MB email$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(repeat('a', 10485760) || '@example.com', 'bob', 'Bob-pass-2024')$q$),
  (8, $l$register: 10 MB username$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@example.com', repeat('b', 10485760), 'Bob-pass-2024')$q$),
  (9, $l$register: 10 MB password$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@example.com', 'bob', repeat('p', 10485760))$q$),
  (10, $l$register: email without @$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob.example.com', 'bob', 'Bob-pass-2024')$q$),
  (11, $l$register: email two @$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@@example.com', 'bob', 'Bob-pass-2024')$q$),
  (12, $l$register: email with space$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob @example.com', 'bob', 'Bob-pass-2024')$q$),
  (13, $l$register: email with newline$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bob@example.com\nBcc: x@y.z', 'bob', 'Bob-pass-2024')$q$),
  (14, $l$register: email no domain dot$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob@localhost', 'bob', 'Bob-pass-2024')$q$),
  (15, $l$register: email zero-width space$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bob\u200b@example.com', 'bob', 'Bob-pass-2024')$q$),
  (16, $l$register: email right-to-left override$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bob\u202e@example.com', 'bob', 'Bob-pass-2024')$q$),
  (17, $l$register: username zero-width joiner$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob2@example.com', E'bo\u200db', 'Bob-pass-2024')$q$),
  (18, $l$register: username right-to-left override$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob2@example.com', E'bob\u202etxt', 'Bob-pass-2024')$q$),
  (19, $l$register: username combining mark only$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob2@example.com', E'\u0301bob', 'Bob-pass-2024')$q$),
  (20, $l$register: username full-width equal to taken$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob3@example.com', E'\uff41\uff4c\uff49\uff43\uff45', 'Bob-pass-2024')$q$),
  (21, $l$register: password of 7 combining marks after NFKC$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob5@example.com', 'bob5', E'e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301')$q$),
  (22, $l$register: password equal to username in full-width$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user('bob8@example.com', 'bobbobbob8', E'\uff42\uff4f\uff42\uff42\uff4f\uff42\uff42\uff4f\uff42\uff18')$q$),
  (23, $l$register: taken username other case$l$, $e$error 23505$e$,
   $q$SELECT aeauth.register_user('bob9@example.com', 'ALICE', 'Bob-pass-2024')$q$),
  (24, $l$change_password: NULL user$l$, $e$error 22004$e$,
   $q$SELECT aeauth.change_password(NULL, 'Alice-pass-2024', 'New-pass-2024x')$q$),
  (25, $l$change_password: NULL current$l$, $e$error 22004$e$,
   $q$SELECT aeauth.change_password((SELECT alice FROM t62_v), NULL, 'New-pass-2024x')$q$),
  (26, $l$change_password: NULL new$l$, $e$error 22004$e$,
   $q$SELECT aeauth.change_password((SELECT alice FROM t62_v), 'Alice-pass-2024', NULL)$q$),
  (27, $l$change_password: unknown user$l$, $e$result invalid_credentials$e$,
   $q$SELECT aeauth.change_password('00000000-0000-0000-0000-000000000000', 'Alice-pass-2024', 'New-pass-2024x')$q$),
  (28, $l$change_password: new too short$l$, $e$error 22023$e$,
   $q$SELECT aeauth.change_password((SELECT alice FROM t62_v), 'Alice-pass-2024', 'short')$q$),
  (29, $l$change_password: 10 MB current$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT aeauth.change_password((SELECT alice FROM t62_v), repeat('p', 10485760), 'New-pass-2024x')$q$),
  (30, $l$change_password: new 10 MB$l$, $e$error 22023$e$,
   $q$SELECT aeauth.change_password((SELECT alice FROM t62_v), 'Alice-pass-2024', repeat('p', 10485760))$q$),
  (31, $l$request_email_verification: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.request_email_verification(NULL)$q$),
  (32, $l$request_email_verification: unknown user$l$, $e$error 22023$e$,
   $q$SELECT aeauth.request_email_verification('00000000-0000-0000-0000-000000000000')$q$),
  (33, $l$verify_email: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.verify_email(NULL)$q$),
  (34, $l$verify_email: empty$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email('')$q$),
  (35, $l$verify_email: truncated$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email(left((SELECT vtok FROM t62_v), 46))$q$),
  (36, $l$verify_email: wrong prefix$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email('aep_' || substr((SELECT vtok FROM t62_v), 5))$q$),
  (37, $l$verify_email: upper case$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email(upper((SELECT vtok FROM t62_v)))$q$),
  (38, $l$verify_email: padding =$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email((SELECT vtok FROM t62_v) || '=')$q$),
  (39, $l$verify_email: leading space$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email(' ' || (SELECT vtok FROM t62_v))$q$),
  (40, $l$verify_email: trailing newline$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email((SELECT vtok FROM t62_v) || E'\n')$q$),
  (41, $l$verify_email: 10 MB$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email('aev_' || repeat('A', 10485760))$q$),
  (42, $l$verify_email: non-canonical last char$l$, $e$result invalid$e$,
   $q$SELECT aeauth.verify_email(left((SELECT vtok FROM t62_v), 46) || 'B')$q$),
  (43, $l$request_password_reset: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.request_password_reset(NULL)$q$),
  (44, $l$request_password_reset: empty$l$, $e$error 22023$e$,
   $q$SELECT aeauth.request_password_reset('')$q$),
  (45, $l$request_password_reset: 10 MB$l$, $e$error 22023$e$,
   $q$SELECT aeauth.request_password_reset(repeat('a', 10485760) || '@example.com')$q$),
  (46, $l$request_password_reset: invalid email$l$, $e$error 22023$e$,
   $q$SELECT aeauth.request_password_reset('not-an-email')$q$),
  (47, $l$reset_password: NULL token$l$, $e$error 22004$e$,
   $q$SELECT aeauth.reset_password(NULL, 'Reset-pass-2024')$q$),
  (48, $l$reset_password: NULL password$l$, $e$error 22004$e$,
   $q$SELECT aeauth.reset_password((SELECT rtok FROM t62_v), NULL)$q$),
  (49, $l$reset_password: wrong prefix$l$, $e$result invalid$e$,
   $q$SELECT aeauth.reset_password('aev_' || substr((SELECT rtok FROM t62_v), 5), 'Reset-pass-2024')$q$),
  (50, $l$reset_password: short new password$l$, $e$error 22023$e$,
   $q$SELECT aeauth.reset_password((SELECT rtok FROM t62_v), 'short')$q$),
  (51, $l$reset_password: whitespace token$l$, $e$result invalid$e$,
   $q$SELECT aeauth.reset_password((SELECT rtok FROM t62_v) || ' ', 'Reset-pass-2024')$q$),
  (52, $l$validate_session: NULL$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.validate_session(NULL)$q$),
  (53, $l$validate_session: empty$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.validate_session('')$q$),
  (54, $l$validate_session: refresh token as access$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.validate_session((SELECT ref FROM t62_v))$q$),
  (55, $l$validate_session: lower-case prefix swap$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.validate_session('AEA_' || substr((SELECT acc FROM t62_v), 5))$q$),
  (56, $l$validate_session: 10 MB$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.validate_session(repeat('a', 10485760))$q$),
  (57, $l$refresh_session: NULL$l$, $e$error 22004$e$,
   $q$SELECT status FROM aeauth.refresh_session(NULL)$q$),
  (58, $l$refresh_session: access token as refresh$l$, $e$result invalid$e$,
   $q$SELECT status FROM aeauth.refresh_session((SELECT acc FROM t62_v))$q$),
  (59, $l$refresh_session: truncated$l$, $e$result invalid$e$,
   $q$SELECT status FROM aeauth.refresh_session(left((SELECT ref FROM t62_v), 20))$q$),
  (60, $l$logout: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.logout(NULL)$q$),
  (61, $l$logout: refresh token$l$, $e$result false$e$,
   $q$SELECT aeauth.logout((SELECT ref FROM t62_v))$q$),
  (62, $l$logout: garbage$l$, $e$result false$e$,
   $q$SELECT aeauth.logout('aea_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!')$q$),
  (63, $l$revoke_session: NULL id$l$, $e$error 22004$e$,
   $q$SELECT aeauth.revoke_session(NULL)$q$),
  (64, $l$revoke_session: bad revoked_by$l$, $e$error 22023$e$,
   $q$SELECT aeauth.revoke_session((SELECT sid FROM t62_v), 'hacker')$q$),
  (65, $l$revoke_session: NULL revoked_by$l$, $e$error 22004$e$,
   $q$SELECT aeauth.revoke_session((SELECT sid FROM t62_v), NULL)$q$),
  (66, $l$revoke_user_sessions: NULL user$l$, $e$error 22004$e$,
   $q$SELECT aeauth.revoke_user_sessions(NULL)$q$),
  (67, $l$revoke_user_sessions: bad revoked_by$l$, $e$error 22023$e$,
   $q$SELECT aeauth.revoke_user_sessions((SELECT alice FROM t62_v), NULL, 'nobody')$q$),
  (68, $l$list_sessions: NULL$l$, $e$result 0$e$,
   $q$SELECT count(*) FROM aeauth.list_sessions(NULL)$q$),
  (69, $l$log_user_event: NULL event_type$l$, $e$error 22004$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, NULL, 'game', 'a', 'success')$q$),
  (70, $l$log_user_event: bad category$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'nonsense', 'a', 'success')$q$),
  (71, $l$log_user_event: bad status$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'maybe')$q$),
  (72, $l$log_user_event: bad severity$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', NULL, NULL, NULL, 'apocalyptic')$q$),
  (73, $l$log_user_event: bad retention$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', NULL, NULL, NULL, 'info', 'forever')$q$),
  (74, $l$log_user_event: upper-case category$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'GAME', 'a', 'success')$q$),
  (75, $l$log_user_event: 10 MB event_type$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, repeat('e', 10485760), 'game', 'a', 'success')$q$),
  (76, $l$log_user_event: empty action$l$, $e$error 22023$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', '', 'success')$q$),
  (77, $l$log_user_event: unknown user$l$, $e$result true$e$,
   $q$SELECT aeauth.log_user_event('00000000-0000-0000-0000-000000000000', NULL, 'e', 'game', 'a', 'success') IS NOT NULL$q$),
  (78, $l$log_user_event: metadata not an object$l$, $e$result true$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', NULL, NULL, '[1,2]') IS NOT NULL$q$),
  (79, $l$log_user_event: 10 MB metadata key$l$, $e$result true$e$,
   $q$SELECT aeauth.log_user_event(NULL, NULL, 'e', 'game', 'a', 'success', NULL, NULL, jsonb_build_object(repeat('k', 10485760), 1)) IS NOT NULL$q$),
  (80, $l$import_user: absurd argon2 m$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$qLml5cbqFAO6YxVHhrSBHP0UWdxrIxkNcM8aMX3drmQ')$q$),
  (81, $l$import_user: absurd argon2 t$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '$argon2id$v=19$m=19456,t=4000000000,p=1$c29tZXNhbHRzb21lc2FsdA$qLml5cbqFAO6YxVHhrSBHP0UWdxrIxkNcM8aMX3drmQ')$q$),
  (82, $l$import_user: argon2 p=0$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '$argon2id$v=19$m=19456,t=2,p=0$c29tZXNhbHRzb21lc2FsdA$qLml5cbqFAO6YxVHhrSBHP0UWdxrIxkNcM8aMX3drmQ')$q$),
  (83, $l$import_user: bcrypt cost 31$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '$2y$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy')$q$),
  (84, $l$import_user: argon2i$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$qLml5cbqFAO6YxVHhrSBHP0UWdxrIxkNcM8aMX3drmQ')$q$),
  (85, $l$import_user: NULL hash$l$, $e$error 22004$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', NULL)$q$),
  (86, $l$import_user: empty hash$l$, $e$error 22023$e$,
   $q$SELECT aeauth.import_user('imp1@example.com', 'imp1', '')$q$),
  (87, $l$verify_password: absurd m$l$, $e$result false$e$,
   $q$SELECT aeauth.verify_password('x', '$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$qLml5cbqFAO6YxVHhrSBHP0UWdxrIxkNcM8aMX3drmQ')$q$),
  (88, $l$verify_password: garbage hash$l$, $e$result false$e$,
   $q$SELECT aeauth.verify_password('x', 'not a hash')$q$),
  (89, $l$verify_password: NULL password$l$, $e$error 22004$e$,
   $q$SELECT aeauth.verify_password(NULL, '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy')$q$),
  (90, $l$hash_password: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.hash_password(NULL)$q$),
  (91, $l$hash_password: 10 MB$l$, $e$error 22023$e$,
   $q$SELECT aeauth.hash_password(repeat('p', 10485760))$q$),
  (92, $l$set_user_status: bad status$l$, $e$error 22023$e$,
   $q$SELECT aeauth.set_user_status((SELECT alice FROM t62_v), 'deleted')$q$),
  (93, $l$set_user_status: NULL status$l$, $e$error 22004$e$,
   $q$SELECT aeauth.set_user_status((SELECT alice FROM t62_v), NULL)$q$),
  (94, $l$set_user_status: upper-case status$l$, $e$error 22023$e$,
   $q$SELECT aeauth.set_user_status((SELECT alice FROM t62_v), 'BANNED')$q$),
  (95, $l$set_password: NULL user$l$, $e$error 22004$e$,
   $q$SELECT aeauth.set_password(NULL, 'Set-pass-2024x')$q$),
  (96, $l$set_password: unknown user$l$, $e$error 22023$e$,
   $q$SELECT aeauth.set_password('00000000-0000-0000-0000-000000000000', 'Set-pass-2024x')$q$),
  (97, $l$unlock_user: NULL$l$, $e$error 22004$e$,
   $q$SELECT aeauth.unlock_user(NULL)$q$),
  (98, $l$unlock_user: unknown$l$, $e$error 22023$e$,
   $q$SELECT aeauth.unlock_user('00000000-0000-0000-0000-000000000000')$q$),
  (99, $l$create_session: NULL user$l$, $e$error 22004$e$,
   $q$SELECT status FROM aeauth.create_session(NULL)$q$),
  (100, $l$create_session: unknown user$l$, $e$error 22023$e$,
   $q$SELECT status FROM aeauth.create_session('00000000-0000-0000-0000-000000000000')$q$),
  (101, $l$create_session: bad device_type$l$, $e$error 22023$e$,
   $q$SELECT status FROM aeauth.create_session((SELECT alice FROM t62_v), NULL, NULL, repeat('d', 10485760))$q$),
  (102, $l$register: email with BOM$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bob\ufeff@example.com', 'bobbom', 'Bob-pass-2024')$q$),
  (103, $l$register: email with soft hyphen$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bo\u00adb@example.com', 'bobshy', 'Bob-pass-2024')$q$),
  (104, $l$register: email with bidi isolate in the domain$l$, $e$error 22023$e$,
   $q$SELECT aeauth.register_user(E'bob@exa\u2066mple.com', 'bobiso', 'Bob-pass-2024')$q$),
  (105, $l$register: visible non-ASCII email still accepted$l$, $e$result true wrote users$e$,
   $q$SELECT aeauth.register_user(E'j\u00fcrgen@example.com', 'juergen', 'Juergen-pass-2024') IS NOT NULL$q$),
  (106, $l$login: NULL identifier$l$, $e$error 22004$e$,
   $q$SELECT status FROM aeauth.login(NULL, 'Alice-pass-2024')$q$),
  (107, $l$login: NULL password$l$, $e$error 22004$e$,
   $q$SELECT status FROM aeauth.login('alice', NULL)$q$),
  (108, $l$login: empty identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login('', 'Alice-pass-2024')$q$),
  (109, $l$login: empty password$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT status FROM aeauth.login('alice', '')$q$),
  (110, $l$login: 10 MB identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login(repeat('a', 10485760), 'Alice-pass-2024')$q$),
  (111, $l$login: 10 MB password$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT status FROM aeauth.login('alice', repeat('p', 10485760))$q$),
  (112, $l$login: full-width identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login(E'\uff41\uff4c\uff49\uff43\uff45', 'Alice-pass-2024')$q$),
  (113, $l$login: zero-width in identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login(E'ali\u200bce', 'Alice-pass-2024')$q$),
  (114, $l$login: right-to-left override identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login(E'\u202ealice', 'Alice-pass-2024')$q$),
  (115, $l$login: SQL in identifier$l$, $e$result invalid_credentials$e$,
   $q$SELECT status FROM aeauth.login($$' OR 1=1; --$$, 'x')$q$),
  (116, $l$login: 10 MB device_type, right password$l$, $e$error 22023$e$,
   $q$SELECT status FROM aeauth.login('alice', 'Alice-pass-2024', NULL, NULL, repeat('d', 10485760))$q$),
  (117, $l$login: 10 MB device_type, wrong password$l$, $e$error 22023$e$,
   $q$SELECT status FROM aeauth.login('alice', 'wrong-pass-2024', NULL, NULL, repeat('d', 10485760))$q$),
  (118, $l$login: 101-char device_name, right password$l$, $e$error 22023$e$,
   $q$SELECT status FROM aeauth.login('alice', 'Alice-pass-2024', NULL, NULL, NULL, repeat('n', 101))$q$),
  (119, $l$login: 10 MB user_agent$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT status FROM aeauth.login('alice', 'wrong-pass-2024', NULL, repeat('u', 10485760))$q$),
  (120, $l$login: 10 MB device_id$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT status FROM aeauth.login('alice', 'wrong-pass-2024', NULL, NULL, NULL, NULL, repeat('i', 10485760))$q$),
  (121, $l$login: password with NFKC combining form$l$, $e$result invalid_credentials wrote users$e$,
   $q$SELECT status FROM aeauth.login('alice', E'Alice-pass-2024\u0301')$q$);

SELECT is(pg_temp.t62_case(q), expected, format('%s: %s', label, expected)) FROM t62_cases ORDER BY n;

-- The bad calls consumed nothing: the real tokens, tried above with bad companions, still work.
SELECT is(aeauth.verify_email(:'vtok'), 'ok', 'the verification token survived the bad attempts');
SELECT is(aeauth.reset_password(:'rtok', 'Reset-pass-2024'), 'ok', 'the reset token survived (short password, NULL, wrong prefix)');
SELECT is((SELECT count(*)::int FROM aeauth.users WHERE email NOT IN ('alice@example.com', E'j\u00fcrgen@example.com')), 0,
          'no bad registration left a user behind');
SELECT cmp_ok((SELECT count(*)::int FROM t62_cases), '>=', 40, 'at least 40 bad-input cases ran');

SELECT * FROM finish();
ROLLBACK;
