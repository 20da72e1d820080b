-- A school's optional profile, for "schools like mine" (src/domain/profile.rs): bands only,
-- never counts, so that no figure is small enough to identify students. Null: not given.
alter table schools add column nces_locale text;
alter table schools add column enrolment text;
alter table schools add column economically_disadvantaged text;
alter table schools add column english_learners text;
alter table schools add column students_with_disabilities text;
