-- Accounts. The email is stored normalized (trimmed, lower-case) and is unique in that form.
CREATE TABLE users (
    user_id       uuid        PRIMARY KEY,
    email         text        NOT NULL,
    display_name  text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'customer',
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_normalized CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    CONSTRAINT users_display_name_length CHECK (length(display_name) BETWEEN 1 AND 64),
    CONSTRAINT users_role_known CHECK (role IN ('customer', 'admin'))
);
