-- The quarterly view's figures, per quarter, without reading every practice: vetted practices
-- are counted from an index alone, archives and adoptions by the time they happened.
create index practices_vetted_public on practices (vetted_on, public_revision_id);
create index practice_events_kind on practice_events (kind, at);
create index adoptions_reported on adoptions (coalesce(updated_at, started_on));
