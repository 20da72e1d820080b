-- Coach review and the quarterly cross-district review: every decision with the revision it
-- judged and its rubric, the life events of practices, quarterly PLC sessions and their
-- decision log.

create table reviews (
    id integer primary key,
    practice_id integer not null references practices (id),
    revision_id integer not null references practice_revisions (id),
    reviewer_id integer not null references users (id),
    decision text not null check (decision in ('vet', 'return', 'archive')),
    comment text not null default '',
    rubric text not null default '[]',   -- JSON [{"criterion", "score", "note"}]
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index reviews_practice on reviews (practice_id, at);

-- What happened to a practice and when: submitted, vetted, returned, archived, replicated,
-- unreplicated. The quarterly review reads its period from here.
create table practice_events (
    id integer primary key,
    practice_id integer not null references practices (id),
    revision_id integer references practice_revisions (id),
    kind text not null,
    user_id integer references users (id),
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index practice_events_at on practice_events (at, kind);
create index practice_events_practice on practice_events (practice_id, at);

create table plc_sessions (
    id integer primary key,
    quarter text not null unique,        -- "2026-Q4"
    held_on text not null,               -- the date of the meeting
    notes text not null default '',
    opened_by integer references users (id),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

create table plc_decisions (
    id integer primary key,
    session_id integer not null references plc_sessions (id),
    agenda text not null,
    decision text not null,
    author_id integer references users (id),
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index plc_decisions_session on plc_decisions (session_id, id);

-- When an adoption last changed: new evidence postpones a practice's re-review.
alter table adoptions add column updated_at text;
