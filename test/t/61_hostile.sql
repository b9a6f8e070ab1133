-- Hostile environment (issue 8): an unprivileged role with the app grant that may create
-- objects in public plants look-alikes of what the extension uses -- a temp table
-- pg_temp.users, temp and public lower(), public "=" operators for uuid, text, bytea, inet and
-- varchar (and mixed overloads), all answering "equal" to everything -- and sets a crafted
-- search_path.  The API must give the same answers, and no planted function may ever run:
-- each one writes to public.t61_hits before answering, and that table must stay empty.
-- Roles are committed (planted objects live in public); the database is fresh and dropped.
\set QUIET 1
SET client_min_messages = warning;
DROP ROLE IF EXISTS aeauth_t61_evil;
CREATE ROLE aeauth_t61_evil;
SELECT aeauth.grant_app_access('aeauth_t61_evil') \gset
GRANT CREATE ON SCHEMA public TO aeauth_t61_evil;

CREATE TABLE public.t61_hits (fn text, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT, SELECT, TRUNCATE ON public.t61_hits TO PUBLIC;
CREATE TABLE public.t61_results (k text, v text);
GRANT INSERT ON public.t61_results TO PUBLIC;

SELECT plan(31);

-- A user and a session made the ordinary way, for the calls below.
SELECT aeauth.register_user('victim@example.com', 'victim', 'Victim-pass-2024') AS victim \gset
SELECT access_token AS acc, refresh_token AS ref, session_id AS sid
  FROM aeauth.create_session(:'victim') \gset
SELECT count(*) AS users_before FROM aeauth.users \gset

SET ROLE aeauth_t61_evil;
-- The plants, all writing to t61_hits and answering "equal" / a constant.
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('public.lower(text)'); RETURN 'x'; END$$;
CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('public.lower(varchar)'); RETURN 'x'; END$$;
CREATE FUNCTION pg_temp.lower(text) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('pg_temp.lower(text)'); RETURN 'x'; END$$;
CREATE FUNCTION public.normalize(text, text) RETURNS text LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('public.normalize'); RETURN 'x'; END$$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('public.now'); RETURN '2000-01-01'; END$$;
CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.t61_hits(fn) VALUES ('public.gen_random_uuid'); RETURN '00000000-0000-0000-0000-000000000000'; END$$;
DO $plant$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('uuid', 'uuid'), ('text', 'text'), ('bytea', 'bytea'), ('inet', 'inet'),
                                   ('varchar', 'varchar'), ('varchar', 'text'), ('text', 'varchar'),
                                   ('timestamptz', 'timestamptz')) v(l, r) LOOP
        EXECUTE format($f$CREATE FUNCTION public.t61_eq_%1$s_%2$s(%1$s, %2$s) RETURNS boolean LANGUAGE plpgsql AS
                         'BEGIN INSERT INTO public.t61_hits(fn) VALUES (''=(%1$s,%2$s)''); RETURN true; END'$f$, t.l, t.r);
        EXECUTE format('CREATE OPERATOR public.= (LEFTARG = %1$s, RIGHTARG = %2$s, FUNCTION = public.t61_eq_%1$s_%2$s)', t.l, t.r);
        EXECUTE format($f$CREATE FUNCTION public.t61_lt_%1$s_%2$s(%1$s, %2$s) RETURNS boolean LANGUAGE plpgsql AS
                         'BEGIN INSERT INTO public.t61_hits(fn) VALUES (''<(%1$s,%2$s)''); RETURN true; END'$f$, t.l, t.r);
        EXECUTE format('CREATE OPERATOR public.< (LEFTARG = %1$s, RIGHTARG = %2$s, FUNCTION = public.t61_lt_%1$s_%2$s)', t.l, t.r);
        EXECUTE format('CREATE OPERATOR public.> (LEFTARG = %1$s, RIGHTARG = %2$s, FUNCTION = public.t61_lt_%1$s_%2$s)', t.l, t.r);
    END LOOP;
END
$plant$;
CREATE TEMP TABLE users (id uuid, email text, username text, password_hash text, status text);
INSERT INTO pg_temp.users VALUES (:'victim', 'victim@example.com', 'victim', '$2b$04$xxxxxxxxxxxxxxxxxxxxxuxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'active');
CREATE TEMP TABLE user_sessions (id uuid, user_id uuid, access_token_hash bytea);

-- The crafted search_path: planted objects first, temp objects reachable as functions too.
SET search_path = pg_temp, public, pg_catalog;

-- Every answer is kept in a psql variable and checked after RESET: pgTAP itself would be fooled
-- by the plants (it compares with unqualified operators), the extension must not be.
SELECT lower('ABC') AS r_plant_lower \gset
SELECT count(*) AS r_plant_hits FROM public.t61_hits \gset
TRUNCATE public.t61_hits;

SELECT count(*) AS r_validate_n FROM aeauth.validate_session(:'acc') \gset
BEGIN;
SELECT user_id AS r_validate_user FROM aeauth.validate_session(:'acc') \gset
SELECT aeauth.current_user_id() AS r_current \gset
COMMIT;
SELECT count(*) AS r_validate_wrong FROM aeauth.validate_session('aea_' || repeat('A', 43)) \gset
SELECT count(*) AS r_list FROM aeauth.list_sessions(:'victim') \gset
DO $d$
BEGIN
    PERFORM aeauth.register_user('VICTIM@example.com', 'other', 'Other-pass-2024');
    INSERT INTO public.t61_results VALUES ('dup', 'no error');
EXCEPTION WHEN unique_violation THEN
    INSERT INTO public.t61_results VALUES ('dup', '23505');
END
$d$;
SELECT aeauth.register_user('alice@example.com', 'alice', 'Alice-pass-2024') AS alice \gset
DO $d$
BEGIN
    PERFORM aeauth.register_user('evil@example.com', $$'; DROP TABLE aeauth.users; --$$, 'Evil-pass-2024');
    INSERT INTO public.t61_results VALUES ('evil', 'no error');
EXCEPTION WHEN invalid_parameter_value THEN
    INSERT INTO public.t61_results VALUES ('evil', '22023');
END
$d$;
DO $d$
BEGIN
    INSERT INTO public.t61_results VALUES ('evil_reset', coalesce(aeauth.request_password_reset($$'; DROP TABLE aeauth.users; --$$), 'NULL'));
EXCEPTION WHEN invalid_parameter_value THEN
    INSERT INTO public.t61_results VALUES ('evil_reset', '22023');
END
$d$;
SELECT aeauth.request_email_verification(:'victim') AS vtok \gset
SELECT aeauth.verify_email(:'vtok') AS r_verify1 \gset
SELECT aeauth.verify_email(:'vtok') AS r_verify2 \gset
SELECT aeauth.verify_email('aev_' || repeat('A', 43)) AS r_verify_wrong \gset
SELECT aeauth.change_password(:'victim', 'wrong-password-1', 'Newer-pass-2024') AS r_change_wrong \gset
SELECT aeauth.change_password(:'victim', 'Victim-pass-2024', 'Newer-pass-2024', :'sid') AS r_change_ok \gset
SELECT aeauth.request_password_reset('alice@example.com') AS rtok \gset
SELECT coalesce(aeauth.request_password_reset('nobody@example.com'), 'NULL') AS r_reset_unknown \gset
SELECT aeauth.reset_password('aep_' || repeat('A', 43), 'Reset-pass-2024') AS r_reset_wrong \gset
SELECT aeauth.reset_password(:'rtok', 'Reset-pass-2024') AS r_reset_ok \gset
SELECT status AS r_refresh_wrong FROM aeauth.refresh_session('aer_' || repeat('A', 43)) \gset
SELECT aeauth.log_user_event(:'victim', NULL, 'probe', 'game', 'probe', 'success', NULL, $$'; DROP TABLE aeauth.users; --$$) AS r_event \gset
SELECT aeauth.logout(:'acc') AS r_logout \gset
SELECT status AS r_login_wrong FROM aeauth.login('victim', 'not-the-password-1') \gset
SELECT status AS r_login_ok, session_id AS r_login_sid, access_token AS r_login_acc FROM aeauth.login('VICTIM@example.com', 'Newer-pass-2024') \gset
SELECT count(*) AS r_login_validate FROM aeauth.validate_session(:'r_login_acc') \gset
SELECT status AS r_login_sql FROM aeauth.login($$' OR 1=1; --$$, 'whatever-pass-1') \gset
RESET search_path;
RESET ROLE;

SELECT is(:'r_plant_lower'::text, 'x', 'the plants do answer unqualified calls in the hostile session (so they would be noticed)');
SELECT cmp_ok(:r_plant_hits, '>', 0, 'and record themselves in t61_hits');
SELECT is(:r_validate_n, 1, 'validate_session accepts the live token');
SELECT is(:'r_validate_user'::uuid, :'victim'::uuid, 'and names the right user');
SELECT is(:'r_current'::uuid, :'victim'::uuid, 'current_user_id() is the validated user');
SELECT is(:r_validate_wrong, 0, 'validate_session refuses a wrong token although every planted = answers true');
SELECT is(:r_list, 1, 'list_sessions sees the one session');
SELECT is((SELECT v FROM public.t61_results WHERE k = 'dup'), '23505', 'a taken email is still taken (case-insensitively)');
SELECT isnt(:'alice'::text, '', 'a new user registers although lower() is planted');
SELECT is((SELECT v FROM public.t61_results WHERE k = 'evil'), '22023',
          'a username ''; DROP TABLE aeauth.users; -- is refused by the username rule (22023), as data');
SELECT is((SELECT v FROM public.t61_results WHERE k = 'evil_reset'), '22023',
          'as an email for request_password_reset it is a malformed email (22023), as data');
SELECT is(:'r_verify1'::text, 'ok', 'verify_email accepts its token');
SELECT is(:'r_verify2'::text, 'invalid', 'and only once');
SELECT is(:'r_verify_wrong'::text, 'invalid', 'a wrong verification token is invalid');
SELECT is(:'r_change_wrong'::text, 'invalid_credentials', 'change_password with a wrong password: invalid_credentials');
SELECT is(:'r_change_ok'::text, 'ok', 'change_password with the right one: ok');
SELECT is(:'r_reset_unknown'::text, 'NULL', 'request_password_reset of an unknown email: NULL');
SELECT is(:'r_reset_wrong'::text, 'invalid', 'a wrong reset token is invalid');
SELECT is(:'r_reset_ok'::text, 'ok', 'the right one resets');
SELECT is(:'r_refresh_wrong'::text, 'invalid', 'refresh_session with a wrong token: invalid');
SELECT isnt(:'r_event'::text, '', 'log_user_event works');
SELECT is(:'r_logout'::text, 't', 'logout of the live session');
SELECT is(:'r_login_wrong'::text, 'invalid_credentials', 'login with a wrong password: invalid_credentials');
SELECT is(:'r_login_ok'::text, 'ok', 'login by email in another case with the new password: ok');
SELECT is(:r_login_validate, 1, 'and its access token validates');
SELECT is(:'r_login_sql'::text, 'invalid_credentials', 'an identifier that looks like SQL is just a wrong identifier');
SELECT is((SELECT count(*)::int FROM aeauth.validate_session(:'acc')), 0, 'and the token is dead afterwards');
SELECT is((SELECT count(*)::int FROM aeauth.users WHERE pg_catalog.lower(email) OPERATOR(pg_catalog.=) 'victim@example.com' AND email_verified), 1,
          'the victim (not the planted temp row) got verified');

SELECT is_empty('SELECT fn FROM public.t61_hits', 'no planted function or operator ever ran inside the extension');
SELECT is((SELECT count(*)::int FROM aeauth.users), :users_before + 1, 'aeauth.users is there, with the one new user');
SELECT is((SELECT user_agent FROM aeauth.user_audit_log WHERE id = :'r_event'), $$'; DROP TABLE aeauth.users; --$$,
          'the hostile string is stored as given, as data, in the audit log');

SELECT * FROM finish();

DROP OWNED BY aeauth_t61_evil;
SELECT aeauth.revoke_app_access('aeauth_t61_evil') \gset
DROP ROLE aeauth_t61_evil;
