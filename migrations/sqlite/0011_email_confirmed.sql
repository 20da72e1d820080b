-- E-mail goes only to addresses a sign-in provider vouched for (or an administrator entered):
-- set at each trusted sign-in. People from before this migration are confirmed at their next
-- sign-in.
alter table users add column email_confirmed integer not null default 0;
