-- Images and handouts a team uploads for its practice, served by the hub itself so that no
-- reader's browser calls a third party. Content-addressed: one row per distinct content,
-- whichever practices use it, so every instance on the database serves the same bytes.
create table files (
    sha256 text primary key,        -- lowercase hex of the content
    content_type text not null,     -- detected from the content, never the name
    size integer not null,
    content blob not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Which practice a file was uploaded for, under which name; a practice lists its files.
create table practice_files (
    practice_id integer not null references practices (id),
    sha256 text not null references files (sha256),
    name text not null,
    uploaded_by integer references users (id),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    primary key (practice_id, sha256)
);
create index practice_files_sha256 on practice_files (sha256);
