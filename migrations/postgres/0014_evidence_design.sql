-- What the evidence of a practice can show (ESSA tiers) and what it takes to adopt it.
-- Every column has a default or is nullable, so the release before this one keeps working.

-- How each measure was gathered: pre-post (no comparison), comparison, randomized; which way
-- is better; the comparison group's figures and the reported p-value.
alter table measures add column design text not null default 'pre-post';
alter table measures add column better text not null default 'higher';
alter table measures add column comparison_baseline double precision;
alter table measures add column comparison_result double precision;
alter table measures add column comparison_n bigint;
alter table measures add column p_value double precision;

-- What it takes: hours to start, hours per week, materials per classroom, roles needed.
alter table practice_revisions add column start_hours double precision;
alter table practice_revisions add column weekly_hours double precision;
alter table practice_revisions add column materials_cost double precision;
alter table practice_revisions add column currency text;
alter table practice_revisions add column staff_roles text not null default '[]';

-- The ESSA tier a coach confirmed with a vetting decision (null: none above tier 4).
alter table reviews add column essa_tier bigint;
