-- The catalog: network, challenge areas, practices with immutable revisions, measures,
-- resources, adoptions, and the `changes` feed that the search index tails.

create table districts (
    id integer primary key,
    slug text not null unique,
    name text not null
);

create table schools (
    id integer primary key,
    slug text not null unique,
    name text not null,
    district_id integer not null references districts (id),
    level text not null,
    locale text not null
);
create index schools_district on schools (district_id);

create table challenge_areas (
    id integer primary key,
    slug text not null unique,
    name text not null,
    description text not null,
    position integer not null
);

create table teams (
    id integer primary key,
    slug text not null unique,
    name text not null,
    school_id integer not null references schools (id),
    cycle text not null,
    challenge_area_id integer not null references challenge_areas (id),
    aim text not null
);
create index teams_school on teams (school_id);

create table practices (
    id integer primary key,
    slug text not null unique,
    team_id integer not null references teams (id),
    status text not null,
    stage text not null,
    published_on text,
    vetted_on text,
    -- the newest revision (what the team edits) and the one the public reads (last vetted)
    current_revision_id integer references practice_revisions (id),
    public_revision_id integer references practice_revisions (id),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index practices_team on practices (team_id);
create index practices_status_vetted on practices (status, vetted_on);

-- Immutable: a revision is written once and never updated.
create table practice_revisions (
    id integer primary key,
    practice_id integer not null references practices (id),
    number integer not null,
    title text not null,
    summary text not null,
    grade_bands text not null,      -- JSON array of file spellings
    subjects text not null,         -- JSON array
    tags text not null,             -- JSON array
    license text,                   -- null: the network's default
    stage text not null,
    essential_aspects text not null, -- JSON array of the aspect texts, for adopters
    body_html text not null,        -- every section rendered and sanitised at save time
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    unique (practice_id, number)
);

create table revision_sections (
    revision_id integer not null references practice_revisions (id),
    kind text not null,
    position integer not null,
    markdown text not null,
    primary key (revision_id, kind)
);

create table revision_challenge_areas (
    revision_id integer not null references practice_revisions (id),
    challenge_area_id integer not null references challenge_areas (id),
    position integer not null,
    primary key (revision_id, challenge_area_id)
);
create index revision_challenge_areas_area on revision_challenge_areas (challenge_area_id);

create table resources (
    revision_id integer not null references practice_revisions (id),
    position integer not null,
    title text not null,
    url text not null,
    primary key (revision_id, position)
);

create table adoptions (
    id integer primary key,
    practice_id integer not null references practices (id),
    team_id integer not null references teams (id),
    revision_id integer not null references practice_revisions (id),
    status text not null,
    started_on text,
    aspects_kept text not null,     -- JSON array of 1-based positions
    adaptations text,
    outcome text,
    unique (practice_id, team_id)
);
create index adoptions_team on adoptions (team_id);

-- A measure belongs to a revision or to an adoption, never both.
create table measures (
    id integer primary key,
    revision_id integer references practice_revisions (id),
    adoption_id integer references adoptions (id) on delete cascade,
    position integer not null,
    name text not null,
    ingredient text not null,
    unit text not null,
    instrument text not null,
    baseline real not null,
    result real not null,
    n integer not null,
    period text not null,
    check ((revision_id is null) <> (adoption_id is null))
);
create index measures_revision on measures (revision_id);
create index measures_adoption on measures (adoption_id);

-- Every practice write appends here in the same transaction; the search indexer applies rows
-- in seq order and records the last one it committed. A row without a practice and with
-- kind 'reindex' asks the running indexer to rebuild the whole index.
create table changes (
    seq integer primary key autoincrement,
    practice_id integer references practices (id),
    kind text not null,
    at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- What the network searches for, with no user identity: the coaches' signal of what the
-- network still needs (searches that found nothing).
create table search_log (
    id integer primary key,
    query text not null,            -- normalised: lowercased, whitespace collapsed
    filters text not null,          -- JSON object of the facet filters
    results integer not null,
    took_ms real not null,
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index search_log_at on search_log (at);
