-- Every change an adopting team makes to its adoption, kept as a snapshot.
create table adoption_history (
    id integer primary key,
    adoption_id integer not null references adoptions (id) on delete cascade,
    user_id integer references users (id),
    snapshot text not null,          -- JSON: status, started_on, aspects_kept, adaptations, outcome, measures
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index adoption_history_adoption on adoption_history (adoption_id, id);
