-- Questions to the team (see src/store/questions.rs): a signed-in member asks the team that
-- shared a practice (and its adopting teams) a question; answers are threaded under it. Only
-- signed-in members read them. The originating team and the coaches can hide a question.

-- `user_id` is who asked on this hub (null for a question imported from questions.toml, or
-- once the person is deleted); `author_name` the name shown, kept as it was when asked.
-- `team_id` the team they asked as, when they gave one. `asked_at` is ISO-8601 UTC text.
create table questions (
    id integer primary key,
    practice_id integer not null references practices (id) on delete cascade,
    user_id integer references users (id) on delete set null,
    author_name text not null,
    team_id integer references teams (id) on delete set null,
    body text not null,
    asked_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    hidden integer not null default 0,
    hidden_by integer references users (id) on delete set null
);
create index questions_practice on questions (practice_id, asked_at, id);

-- `team_id` is the team the answer speaks for (the originating or an adopting team's
-- answers are marked as such), when the person answering is on one.
create table answers (
    id integer primary key,
    question_id integer not null references questions (id) on delete cascade,
    user_id integer references users (id) on delete set null,
    author_name text not null,
    team_id integer references teams (id) on delete set null,
    body text not null,
    answered_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
create index answers_question on answers (question_id, answered_at, id);
