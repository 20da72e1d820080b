-- People, sign-in and authoring: users with roles, team membership, server-side sessions,
-- pending OAuth logins, and who wrote each revision.

create table users (
    id integer primary key,
    email text not null unique,      -- lowercased
    name text not null,
    role text not null default 'member' check (role in ('member', 'coach', 'admin')),
    -- from the provider's email-domain → district map, when it has one for this email
    district_id integer references districts (id),
    -- the provider and its subject the person last signed in with ('local' in local mode)
    provider text,
    subject text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    last_seen_at text
);

create table team_members (
    team_id integer not null references teams (id),
    user_id integer not null references users (id) on delete cascade,
    primary key (team_id, user_id)
);
create index team_members_user on team_members (user_id);

-- A session is known by the SHA-256 of its cookie value, so a copy of the database does not
-- hand out live sessions. A session without a user is a visitor's, holding only a CSRF token
-- (for the sign-in form); signing in replaces it with a new one.
create table sessions (
    id_hash text primary key,
    user_id integer references users (id) on delete cascade,
    csrf_token text not null,
    created_at integer not null,     -- unix seconds
    last_seen_at integer not null
);
create index sessions_user on sessions (user_id);

-- An OAuth authorization in flight: found by the hash of its `state`, deleted before it is
-- compared, so a state and its PKCE verifier serve exactly one callback.
create table login_attempts (
    state_hash text primary key,
    provider text not null,
    pkce_verifier text not null,
    nonce text not null,
    return_to text not null,
    created_at integer not null
);

alter table practice_revisions add column author_id integer references users (id);
