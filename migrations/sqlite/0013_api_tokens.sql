-- Personal access tokens for the API (see src/store/tokens.rs). Only a hash of each token is
-- kept; the token itself is shown once, when it is made.
create table api_tokens (
    id integer primary key,
    user_id integer not null references users (id) on delete cascade,
    name text not null,
    hash text not null unique,
    -- The first characters of the token, so a person can tell their tokens apart.
    prefix text not null,
    -- Space-separated: read, write:practices, write:adoptions, review.
    scopes text not null,
    created_at integer not null,
    -- Null: never expires.
    expires_at integer,
    last_used_at integer,
    revoked_at integer
);
create index api_tokens_user on api_tokens (user_id, id);
