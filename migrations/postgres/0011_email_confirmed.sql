-- As SQLite's 0011: e-mail goes only to confirmed addresses (1), set at each trusted sign-in.
alter table users add column email_confirmed bigint not null default 0;
