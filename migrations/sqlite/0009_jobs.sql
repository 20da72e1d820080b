-- Work that must run once across every instance, claimed with a lease (see store/jobs.rs).
-- (PostgreSQL's 0009 also adds the feed's transaction ids; SQLite's one writer commits in
-- `seq` order, so its feed needs none.)
create table jobs (
    id integer primary key,
    kind text not null,
    key text not null,
    payload text not null default '{}',
    run_after integer not null,
    attempts integer not null default 0,
    last_error text,
    unique (kind, key)
);
create index jobs_due on jobs (run_after, id);
