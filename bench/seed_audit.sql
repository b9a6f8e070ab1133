-- The seed's design (../shared/seeds/000_*.txt), as the reference for bench/run.sh: its users
-- and user_sessions tables, its user_audit_log with both foreign keys, every index it lists, its
-- plpgsql retention trigger, a plpgsql log_user_event with the seed's signature, and the writes
-- of the seed's login and refresh (seed.login_writes, seed.refresh_writes: the row changes only;
-- the seed hashed in the application).  Schema "seed".
CREATE SCHEMA seed;
SET search_path = seed, public;

-- users and user_sessions as the seed has them (all columns, every index it lists), so that the
-- foreign keys of the audit table and the seed's login/refresh writes cost what they cost there.
CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL UNIQUE,
    username VARCHAR(50) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL DEFAULT '',
    status VARCHAR(20) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'inactive', 'suspended', 'banned')),
    email_verified BOOLEAN NOT NULL DEFAULT false,
    email_verification_token VARCHAR(255) NULL,
    email_verification_expires_at TIMESTAMP NULL,
    password_reset_token VARCHAR(255) NULL,
    password_reset_expires_at TIMESTAMP NULL,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    last_login TIMESTAMP NULL
);
CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_username ON users(username);
CREATE INDEX idx_users_status ON users(status);
CREATE INDEX idx_users_email_verified ON users(email_verified);
CREATE INDEX idx_users_created_at ON users(created_at);
CREATE INDEX idx_users_last_login ON users(last_login);
CREATE INDEX idx_users_email_verification_token ON users(email_verification_token);
CREATE INDEX idx_users_password_reset_token ON users(password_reset_token);

CREATE TABLE user_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_token VARCHAR(255) NOT NULL UNIQUE,
    refresh_token_hash VARCHAR(255) NOT NULL,
    token_family UUID NOT NULL DEFAULT gen_random_uuid(),
    device_type VARCHAR(50) NULL,
    device_name VARCHAR(100) NULL,
    user_agent TEXT NULL,
    ip_address INET NULL,
    location_country VARCHAR(2) NULL,
    location_city VARCHAR(100) NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'expired', 'revoked', 'suspicious')),
    is_trusted BOOLEAN NOT NULL DEFAULT false,
    last_activity TIMESTAMP NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMP NOT NULL,
    login_method VARCHAR(50) NOT NULL DEFAULT 'password',
    is_suspicious BOOLEAN NOT NULL DEFAULT false,
    risk_score INTEGER NOT NULL DEFAULT 0 CHECK (risk_score >= 0 AND risk_score <= 100),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    revoked_at TIMESTAMP NULL,
    revoked_by VARCHAR(50) NULL
);
CREATE INDEX idx_user_sessions_user_id ON user_sessions(user_id);
CREATE INDEX idx_user_sessions_session_token ON user_sessions(session_token);
CREATE INDEX idx_user_sessions_token_family ON user_sessions(token_family);
CREATE INDEX idx_user_sessions_status ON user_sessions(status);
CREATE INDEX idx_user_sessions_last_activity ON user_sessions(last_activity);
CREATE INDEX idx_user_sessions_expires_at ON user_sessions(expires_at);
CREATE INDEX idx_user_sessions_ip_address ON user_sessions(ip_address);
CREATE INDEX idx_user_sessions_is_suspicious ON user_sessions(is_suspicious);
CREATE INDEX idx_user_sessions_user_active ON user_sessions(user_id, status)
    WHERE status = 'active';
CREATE INDEX idx_user_sessions_cleanup ON user_sessions(status, expires_at)
    WHERE status IN ('expired', 'revoked');

CREATE TABLE user_audit_log (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NULL REFERENCES users(id) ON DELETE SET NULL,
    session_id UUID NULL REFERENCES user_sessions(id) ON DELETE SET NULL,
    event_type VARCHAR(50) NOT NULL,
    event_category VARCHAR(30) NOT NULL,
    action VARCHAR(100) NOT NULL,
    resource_type VARCHAR(50) NULL,
    resource_id VARCHAR(255) NULL,
    status VARCHAR(20) NOT NULL,
    result_code VARCHAR(20) NULL,
    message TEXT NULL,
    ip_address INET NULL,
    user_agent TEXT NULL,
    location_country VARCHAR(2) NULL,
    location_city VARCHAR(100) NULL,
    risk_score INTEGER NULL CHECK (risk_score >= 0 AND risk_score <= 100),
    request_method VARCHAR(10) NULL,
    request_path VARCHAR(500) NULL,
    request_params JSONB NULL,
    response_status INTEGER NULL,
    metadata JSONB NULL,
    tags TEXT[] NULL,
    severity VARCHAR(20) NOT NULL DEFAULT 'info'
        CHECK (severity IN ('debug', 'info', 'warning', 'error', 'critical')),
    is_sensitive BOOLEAN NOT NULL DEFAULT false,
    retention_policy VARCHAR(30) NOT NULL DEFAULT 'standard',
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    processed_at TIMESTAMP NULL,
    expires_at TIMESTAMP NULL
);

CREATE INDEX idx_audit_log_user_id ON user_audit_log(user_id);
CREATE INDEX idx_audit_log_event_type ON user_audit_log(event_type);
CREATE INDEX idx_audit_log_created_at ON user_audit_log(created_at);
CREATE INDEX idx_audit_log_severity ON user_audit_log(severity);
CREATE INDEX idx_audit_log_request_params_gin ON user_audit_log USING GIN (request_params);
CREATE INDEX idx_audit_log_metadata_gin ON user_audit_log USING GIN (metadata);
CREATE INDEX idx_audit_log_tags_gin ON user_audit_log USING GIN (tags);
CREATE INDEX idx_audit_log_security_events ON user_audit_log(event_category, severity, created_at)
    WHERE event_category = 'security';
CREATE INDEX idx_audit_log_failed_events ON user_audit_log(status, event_type, created_at)
    WHERE status = 'failure';

CREATE FUNCTION set_audit_log_expiration()
RETURNS TRIGGER AS $$
BEGIN
    CASE NEW.retention_policy
        WHEN 'standard' THEN NEW.expires_at = NEW.created_at + INTERVAL '90 days';
        WHEN 'extended' THEN NEW.expires_at = NEW.created_at + INTERVAL '1 year';
        WHEN 'permanent' THEN NEW.expires_at = NULL;
    END CASE;
    IF NEW.event_category = 'security' OR NEW.severity IN ('error', 'critical') THEN
        NEW.retention_policy = 'extended';
        NEW.expires_at = NEW.created_at + INTERVAL '2 years';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER set_audit_log_expiration
    BEFORE INSERT ON user_audit_log
    FOR EACH ROW EXECUTE FUNCTION set_audit_log_expiration();

-- The seed shows only the signature; the body is the obvious one.
CREATE FUNCTION log_user_event(
    p_user_id UUID,
    p_session_id UUID,
    p_event_type VARCHAR(50),
    p_event_category VARCHAR(30),
    p_action VARCHAR(100),
    p_status VARCHAR(20),
    p_ip_address INET DEFAULT NULL,
    p_user_agent TEXT DEFAULT NULL,
    p_metadata JSONB DEFAULT NULL,
    p_severity VARCHAR(20) DEFAULT 'info'
) RETURNS UUID AS $$
DECLARE
    v_id UUID;
BEGIN
    INSERT INTO seed.user_audit_log (user_id, session_id, event_type, event_category, action,
                                     status, ip_address, user_agent, metadata, severity)
    VALUES (p_user_id, p_session_id, p_event_type, p_event_category, p_action,
            p_status, p_ip_address, p_user_agent, p_metadata, p_severity)
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$ LANGUAGE plpgsql;

-- The rows a login changes in the seed's design: the user's counters and last_login, a new
-- session (token in clear, as the seed stored it), and the audit event.  Used for WAL per login.
CREATE FUNCTION login_writes(p_user_id UUID, p_token TEXT) RETURNS UUID AS $$
DECLARE
    v_session UUID;
BEGIN
    UPDATE seed.users SET failed_login_attempts = 0, locked_until = NULL, last_login = NOW()
     WHERE id = p_user_id;
    INSERT INTO seed.user_sessions (user_id, session_token, refresh_token_hash, device_type,
                                    device_name, user_agent, ip_address, expires_at)
    VALUES (p_user_id, p_token, md5(p_token) || md5(p_token || 'r'), 'desktop', 'bench',
            'bench-agent/1.0', '10.1.2.3', NOW() + INTERVAL '30 days')
    RETURNING id INTO v_session;
    PERFORM seed.log_user_event(p_user_id, v_session, 'login', 'authentication', 'login',
                                'success', '10.1.2.3', 'bench-agent/1.0', NULL, 'info');
    RETURN v_session;
END;
$$ LANGUAGE plpgsql;

-- A refresh in the seed's design: new token and refresh hash on the session row.
CREATE FUNCTION refresh_writes(p_session UUID, p_token TEXT) RETURNS void AS $$
    UPDATE seed.user_sessions
       SET session_token = p_token, refresh_token_hash = md5(p_token) || md5(p_token || 'r'),
           last_activity = NOW(), expires_at = NOW() + INTERVAL '30 days'
     WHERE id = p_session;
$$ LANGUAGE sql;

RESET search_path;
