//! People: users and their roles, team membership, sessions and OAuth logins in flight.

use sqlx::FromRow;

use super::sql::{query, query_as, query_scalar};
use tracing::instrument;

use super::Db;
use crate::domain::{Role, Vocabulary};

/// A signed-in person as every request sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub teams: Vec<TeamRef>,
}

impl User {
    pub fn is_member_of(&self, team_id: i64) -> bool {
        self.teams.iter().any(|t| t.id == team_id)
    }

    pub fn is_coach(&self) -> bool {
        self.role >= Role::Coach
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TeamRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The team's school: adoption is for teams of other schools than a practice's own.
    pub school_slug: String,
}

/// Who a provider (or local sign-in) says signed in.
#[derive(Debug, Clone, Copy)]
pub struct SignInIdentity<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    /// The provider is authoritative for `email` (it verified it, or owns its domain).
    pub email_trusted: bool,
}

/// The outcome of [`Db::sign_in_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    SignedIn(i64),
    /// The e-mail's account is bound to another subject.
    BoundElsewhere,
    /// The e-mail's account was set up beforehand, and the provider does not vouch for it.
    Unconfirmed,
}

/// A stored session, found by the hash of its cookie.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id_hash: String,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub user: Option<User>,
}

/// An OAuth authorization that was started and not yet completed.
#[derive(Debug, Clone, FromRow)]
pub struct LoginAttempt {
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub return_to: String,
    pub created_at: i64,
}

/// A row of the people list at `/admin`.
#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub teams: String,
    pub district: Option<String>,
    pub last_seen_at: Option<String>,
    /// The provider whose subject the account is bound to; none before the first sign-in.
    pub provider: Option<String>,
}

impl Db {
    /// Signs in the account bound to `id.provider` and `id.subject`, binding one at first
    /// sign-in. E-mail links a first sign-in to a person set up beforehand (`user grant`)
    /// only when `id.email_trusted`; an account already bound to another subject is never
    /// taken over. `admin` promotes (never demotes) and `district` applies to a trusted e-mail
    /// only, as both come from it.
    #[instrument(skip_all)]
    pub async fn sign_in_user(
        &self,
        id: &SignInIdentity<'_>,
        admin: bool,
        district: Option<&str>,
    ) -> sqlx::Result<Binding> {
        let email = id.email.to_lowercase();
        let mut tx = self.begin_write().await?;
        let bound: Option<(i64, String)> =
            query_as("select id, email from users where provider = $1 and subject = $2")
                .bind(id.provider)
                .bind(id.subject)
                .fetch_optional(&mut tx)
                .await?;
        let user_id = match bound {
            Some((user_id, stored)) => {
                // A provider that proves a new address for the same subject moves the account
                // to it, unless another account holds that address.
                if id.email_trusted && stored != email {
                    query(
                        "update users set email = $1 where id = $2 and not exists (select 1 from users where email = $1)",
                    )
                    .bind(&email)
                    .bind(user_id)
                    .execute(&mut tx)
                    .await?;
                }
                user_id
            }
            None => {
                let by_email: Option<(i64, Option<String>)> =
                    query_as("select id, subject from users where email = $1")
                        .bind(&email)
                        .fetch_optional(&mut tx)
                        .await?;
                match by_email {
                    Some((_, Some(_))) => return Ok(Binding::BoundElsewhere),
                    Some((_, None)) if !id.email_trusted => return Ok(Binding::Unconfirmed),
                    Some((user_id, None)) => {
                        query("update users set provider = $1, subject = $2 where id = $3")
                            .bind(id.provider)
                            .bind(id.subject)
                            .bind(user_id)
                            .execute(&mut tx)
                            .await?;
                        user_id
                    }
                    None => {
                        query_scalar(
                            "insert into users (email, name, provider, subject) values ($1, $2, $3, $4) returning id",
                        )
                        .bind(&email)
                        .bind(id.name)
                        .bind(id.provider)
                        .bind(id.subject)
                        .fetch_one(&mut tx)
                        .await?
                    }
                }
            }
        };
        let trusted = id.email_trusted;
        query(
            r#"update users set name = $1,
                 role = case when $2 and email = $4 then 'admin' else role end,
                 email_confirmed = case when $3 and email = $4 then 1 else email_confirmed end,
                 district_id = coalesce(case when $3 and email = $4
                   then (select id from districts where slug = $5) end, district_id)
               where id = $6"#,
        )
        .bind(id.name)
        .bind(trusted && admin)
        .bind(trusted)
        .bind(&email)
        .bind(district)
        .bind(user_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Binding::SignedIn(user_id))
    }

    /// Sets up a person before their first sign-in (`user grant`): no subject is bound yet,
    /// so their first sign-in with a provider that vouches for this e-mail binds one.
    pub async fn create_person(&self, email: &str, name: &str) -> sqlx::Result<i64> {
        let mut tx = self.begin_write().await?;
        // The administrator's word confirms the address.
        let id = query_scalar(
            "insert into users (email, name, email_confirmed) values ($1, $2, 1) returning id",
        )
        .bind(email.to_lowercase())
        .bind(name)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Lets the next trusted sign-in with this person's e-mail bind a new subject (their
    /// account was recreated at the provider); ends their sessions. False: no such person.
    pub async fn unlink_sign_in(&self, user_id: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = query("update users set provider = null, subject = null where id = $1")
            .bind(user_id)
            .execute(&mut tx)
            .await?
            .rows_affected()
            == 1;
        query("delete from sessions where user_id = $1")
            .bind(user_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn user(&self, id: i64) -> sqlx::Result<Option<User>> {
        let row: Option<(i64, String, String, String)> =
            query_as("select id, email, name, role from users where id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let Some((id, email, name, role)) = row else {
            return Ok(None);
        };
        let teams = query_as(
            r#"select t.id, t.slug, t.name, s.slug as school_slug
               from team_members m join teams t on t.id = m.team_id
               join schools s on s.id = t.school_id
               where m.user_id = $1 order by t.name"#,
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        Ok(Some(User {
            id,
            email,
            name,
            role: Role::parse(&role).unwrap_or(Role::Member),
            teams,
        }))
    }

    pub async fn user_id_by_email(&self, email: &str) -> sqlx::Result<Option<i64>> {
        query_scalar("select id from users where email = $1")
            .bind(email.to_lowercase())
            .fetch_optional(&self.read)
            .await
    }

    /// Sets a role; false when there is no such person.
    pub async fn set_role(&self, user_id: i64, role: Role) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = query("update users set role = $1 where id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    /// Adds (`member = true`) or removes a person from a team; false when the team is unknown.
    pub async fn set_membership(
        &self,
        user_id: i64,
        team_slug: &str,
        member: bool,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let sql = if member {
            "insert into team_members (team_id, user_id) select id, $2 from teams where slug = $1 on conflict do nothing"
        } else {
            "delete from team_members where user_id = $2 and team_id = (select id from teams where slug = $1)"
        };
        query(sql)
            .bind(team_slug)
            .bind(user_id)
            .execute(&mut tx)
            .await?;
        let known: bool = query_scalar("select count(*) > 0 from teams where slug = $1")
            .bind(team_slug)
            .fetch_one(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(known)
    }

    /// Whether a team with this slug exists.
    pub async fn team_exists(&self, slug: &str) -> sqlx::Result<bool> {
        query_scalar("select count(*) > 0 from teams where slug = $1")
            .bind(slug)
            .fetch_one(&self.read)
            .await
    }

    pub async fn people(&self) -> sqlx::Result<Vec<PersonRow>> {
        query_as(
            r#"select u.id, u.email, u.name, u.role, u.last_seen_at, u.provider,
                 (select d.name from districts d where d.id = u.district_id) as district,
                 coalesce((select string_agg(t.name, ', ' order by t.name) from team_members m
                           join teams t on t.id = m.team_id where m.user_id = u.id), '') as teams
               from users u order by u.name, u.email"#,
        )
        .fetch_all(&self.read)
        .await
    }

    /// Every team as (slug, name, school name), for pickers.
    pub async fn teams(&self) -> sqlx::Result<Vec<(String, String, String)>> {
        query_as(
            r#"select t.slug, t.name, s.name from teams t join schools s on s.id = t.school_id
               order by t.name"#,
        )
        .fetch_all(&self.read)
        .await
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query(
            "insert into sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now)
        .execute(&mut tx)
        .await?;
        query(format!(
            "update users set last_seen_at = {} where id = $1",
            tx.dialect().now()
        ))
        .bind(user_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> sqlx::Result<Option<SessionRow>> {
        let row: Option<(String, String, i64, i64, Option<i64>)> = query_as(
            "select id_hash, csrf_token, created_at, last_seen_at, user_id from sessions where id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some((id_hash, csrf_token, created_at, last_seen_at, user_id)) = row else {
            return Ok(None);
        };
        let user = match user_id {
            Some(id) => self.user(id).await?,
            None => None,
        };
        Ok(Some(SessionRow {
            id_hash,
            csrf_token,
            created_at,
            last_seen_at,
            user,
        }))
    }

    /// Refreshes a session's idle clock if the writer is free; skipped otherwise (the next
    /// request tries again), so reading never waits on a writer.
    pub async fn touch_session(&self, id_hash: &str, now: i64) -> sqlx::Result<()> {
        self.write_if_free(
            query("update sessions set last_seen_at = $1 where id_hash = $2")
                .bind(now)
                .bind(id_hash),
        )
        .await
        .map(drop)
    }

    /// Deletes an ended session if the writer is free; otherwise the sweeper will.
    pub async fn forget_session(&self, id_hash: &str) -> sqlx::Result<()> {
        self.write_if_free(query("delete from sessions where id_hash = $1").bind(id_hash))
            .await
            .map(drop)
    }

    pub async fn delete_session(&self, id_hash: &str) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query("delete from sessions where id_hash = $1")
            .bind(id_hash)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    /// Removes sessions and login attempts that can no longer be used.
    pub async fn purge_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
        attempts_before: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query("delete from sessions where last_seen_at < $1 or created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(&mut tx)
            .await?;
        query("delete from login_attempts where created_at < $1")
            .bind(attempts_before)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    /// Records an attempt unless `cap` attempts are already in flight (false then): what
    /// anonymous clients can make the database hold stays bounded.
    pub async fn create_login_attempt(
        &self,
        state_hash: &str,
        attempt: &LoginAttempt,
        cap: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let added = query(
            r#"insert into login_attempts (state_hash, provider, pkce_verifier, nonce, return_to, created_at)
               select $1, $2, $3, $4, $5, $6 where (select count(*) from login_attempts) < $7"#,
        )
        .bind(state_hash)
        .bind(&attempt.provider)
        .bind(&attempt.pkce_verifier)
        .bind(&attempt.nonce)
        .bind(&attempt.return_to)
        .bind(attempt.created_at)
        .bind(cap)
        .execute(&mut tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(added)
    }

    /// Deletes and returns the attempt with this state: a state is good for one callback.
    pub async fn take_login_attempt(&self, state_hash: &str) -> sqlx::Result<Option<LoginAttempt>> {
        let mut tx = self.begin_write().await?;
        let row = query_as(
            r#"delete from login_attempts where state_hash = $1
               returning provider, pkce_verifier, nonce, return_to, created_at"#,
        )
        .bind(state_hash)
        .fetch_optional(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}
