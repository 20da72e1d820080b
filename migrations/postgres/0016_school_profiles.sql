-- As SQLite's 0016: a school's optional profile, bands only (null: not given).
alter table schools add column nces_locale text collate "C";
alter table schools add column enrolment text collate "C";
alter table schools add column economically_disadvantaged text collate "C";
alter table schools add column english_learners text collate "C";
alter table schools add column students_with_disabilities text collate "C";
