-- Lists of practices are newest-vetted first and paged: this index hands SQLite the order,
-- so a page reads its rows instead of sorting the whole catalog.
create index practices_recent on practices (vetted_on desc, slug);
