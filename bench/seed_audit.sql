-- The seed's audit design (../shared/seeds/000_*.txt, migration 003), as the reference for
-- bench/audit.sh: its user_audit_log with both foreign keys, every index it lists, its plpgsql
-- retention trigger, and a plpgsql log_user_event with the seed's signature.  Only the
-- users/user_sessions columns the foreign keys need are kept.  Schema "seed".
CREATE SCHEMA seed;
SET search_path = seed, public;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username varchar(50) NOT NULL UNIQUE,
    email varchar(255) NOT NULL UNIQUE
);
CREATE TABLE user_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE
);

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

RESET search_path;
