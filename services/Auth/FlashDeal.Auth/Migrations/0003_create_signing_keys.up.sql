-- When each signing key was first published by any auth replica. A key signs only once it has been published for
-- Auth:SigningKeys:PublishBeforeSigning (every validator has fetched it by then), counted from this time, which all
-- replicas share and a restart does not reset. Keyed by kid and RFC 7638 thumbprint: a kid reused for new key material
-- is a new key.
CREATE TABLE signing_keys (
    key_id             text        NOT NULL,
    thumbprint         bytea       NOT NULL,
    first_published_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signing_keys_pkey PRIMARY KEY (key_id, thumbprint),
    CONSTRAINT signing_keys_thumbprint_length CHECK (length(thumbprint) = 32)
);
