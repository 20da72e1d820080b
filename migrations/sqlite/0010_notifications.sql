-- Notifications by e-mail (see src/notify and src/mail.rs).

-- The outbox: every message to send, written once (`dedupe` names what it is about and for
-- whom) and claimed by one sender. `state`: pending → sending → sent, or back to pending
-- after a refusal the server calls temporary; failed (refused for good), uncertain (the
-- connection broke while the server had the message: never sent again by itself), expired
-- (could not be sent for days).
create table outbox (
    id integer primary key,
    dedupe text not null unique,
    user_id integer references users (id) on delete cascade,
    to_addr text not null,
    kind text not null,
    subject text not null,
    body_text text not null,
    body_html text not null,
    unsubscribe text not null,
    state text not null default 'pending',
    attempts integer not null default 0,
    run_after integer not null,
    created_at integer not null,
    sent_at integer,
    last_error text
);
create index outbox_due on outbox (state, run_after, id);
create index outbox_user on outbox (user_id, id);

-- The kinds of notification a person turned off (every kind is on by default).
create table notifications_off (
    user_id integer not null references users (id) on delete cascade,
    kind text not null,
    primary key (user_id, kind)
);

-- "Tell me about new practices in …": a challenge area, a team, a school or a search.
create table subscriptions (
    id integer primary key,
    user_id integer not null references users (id) on delete cascade,
    target text not null check (target in ('area', 'team', 'school', 'search')),
    value text not null,
    label text not null,
    delivery text not null default 'weekly' check (delivery in ('immediate', 'weekly')),
    created_at integer not null,
    unique (user_id, target, value)
);
create index subscriptions_target on subscriptions (target, value);

-- Keys every instance shares (the unsubscribe links' signing key), made at first use.
create table hub_keys (
    name text primary key,
    value text not null
);
