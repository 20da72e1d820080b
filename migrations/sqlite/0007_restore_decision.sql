-- A coach can restore an archived practice, and the restore is a decision in the practice's
-- trail like the archive before it. SQLite cannot change a check constraint in place, so the
-- table is rebuilt with the same columns and rows (nothing references it).
create table reviews_new (
    id integer primary key,
    practice_id integer not null references practices (id),
    revision_id integer not null references practice_revisions (id),
    reviewer_id integer not null references users (id),
    decision text not null check (decision in ('vet', 'return', 'archive', 'restore')),
    comment text not null default '',
    rubric text not null default '[]',   -- JSON [{"criterion", "score", "note"}]
    at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
insert into reviews_new (id, practice_id, revision_id, reviewer_id, decision, comment, rubric, at)
    select id, practice_id, revision_id, reviewer_id, decision, comment, rubric, at from reviews;
drop table reviews;
alter table reviews_new rename to reviews;
create index reviews_practice on reviews (practice_id, at);
