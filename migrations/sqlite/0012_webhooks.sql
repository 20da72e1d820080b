-- Webhooks (see src/webhooks): endpoints an administrator registers, and their deliveries,
-- which go through the e-mail outbox (0010) so both share one claim, retry and listing.

-- `events`: the event names it wants, space-separated (`practice.vetted practice.archived`).
-- `secret`: the key that signs its deliveries, kept as made (it must sign every delivery).
-- A district or a challenge area, when set, narrows it to the practices they concern.
create table webhooks (
    id integer primary key,
    url text not null,
    secret text not null,
    events text not null,
    district_id integer references districts (id) on delete cascade,
    challenge_area_id integer references challenge_areas (id) on delete cascade,
    active integer not null default 1,
    created_at integer not null,
    created_by integer references users (id) on delete set null
);

-- A row of the outbox is an e-mail or a webhook delivery: each sender claims only its own.
-- For a delivery, `to_addr` is the endpoint's URL, `kind` the event and `body_text` the JSON
-- sent. Added with defaults so the release before this one keeps working on it.
alter table outbox add column channel text not null default 'mail';
alter table outbox add column webhook_id integer references webhooks (id) on delete cascade;
create index outbox_channel_due on outbox (channel, state, run_after, id);
create index outbox_webhook on outbox (webhook_id, id);
