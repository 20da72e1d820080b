-- An account is bound to the (provider, subject) it first signed in with: a later sign-in
-- that carries the same e-mail under another subject no longer takes it over. Rows without a
-- subject are people an administrator set up (`user grant`) who have not signed in yet.
update users set provider = null, subject = null where subject is null or subject = '';
-- Earlier versions matched by e-mail alone, so one subject may sit on two rows (its e-mail
-- changed at the provider): the newest row keeps the binding.
update users set provider = null, subject = null
where subject is not null
  and id not in (select max(id) from users where subject is not null group by provider, subject);
create unique index users_identity on users (provider, subject) where subject is not null;
