-- As SQLite's 0017: uploaded images and handouts, content-addressed, and the practices they
-- were uploaded for.
create table files (
    sha256 text collate "C" primary key,
    content_type text collate "C" not null,
    size bigint not null,
    content bytea not null,
    created_at text collate "C" not null default bs_utc_now()
);

create table practice_files (
    practice_id bigint not null references practices (id),
    sha256 text collate "C" not null references files (sha256),
    name text collate "C" not null,
    uploaded_by bigint references users (id),
    created_at text collate "C" not null default bs_utc_now(),
    primary key (practice_id, sha256)
);
create index practice_files_sha256 on practice_files (sha256);
