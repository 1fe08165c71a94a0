-- A token family is one log-in session: the first refresh token and every token rotated from it. Revoking the family
-- (log-out, or reuse of a spent token) is authoritative; a token is usable only while its family is not revoked.
CREATE TABLE token_families (
    family_id     uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    create_time   timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    revoke_reason text,
    CONSTRAINT token_families_revocation CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);

CREATE INDEX token_families_user_id_idx ON token_families (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored as SHA-256 of the 256-bit random token: a database leak gives no usable token.
CREATE TABLE refresh_tokens (
    token_id      uuid        PRIMARY KEY,
    token_hash    bytea       NOT NULL,
    family_id     uuid        NOT NULL REFERENCES token_families (family_id) ON DELETE CASCADE,
    parent_id     uuid        REFERENCES refresh_tokens (token_id) ON DELETE CASCADE,
    user_id       uuid        NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    create_time   timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    replaced_by   uuid,
    revoked_at    timestamptz,
    revoke_reason text,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_token_hash_length CHECK (length(token_hash) = 32),
    CONSTRAINT refresh_tokens_rotation CHECK ((used_at IS NULL) = (replaced_by IS NULL))
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
