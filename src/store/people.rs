//! People: users and their roles, team membership, sessions and OAuth logins in flight.

use sqlx::FromRow;
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
}

impl Db {
    /// Creates the person on first sign-in, refreshes their name on later ones; `admin`
    /// promotes them (an email listed in the settings' `admins`), never demotes. `district`
    /// is the slug the provider maps their email domain to, if any.
    #[instrument(skip_all)]
    pub async fn upsert_user(
        &self,
        email: &str,
        name: &str,
        provider: &str,
        subject: &str,
        admin: bool,
        district: Option<&str>,
    ) -> sqlx::Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            r#"insert into users (email, name, provider, subject, role, district_id) values (?1, ?2, ?3, ?4,
                 case when ?5 then 'admin' else 'member' end, (select id from districts where slug = ?6))
               on conflict (email) do update set name = excluded.name, provider = excluded.provider,
                 subject = excluded.subject,
                 role = case when ?5 then 'admin' else users.role end,
                 district_id = coalesce(excluded.district_id, users.district_id)
               returning id"#,
        )
        .bind(email.to_lowercase())
        .bind(name)
        .bind(provider)
        .bind(subject)
        .bind(admin)
        .bind(district)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn user(&self, id: i64) -> sqlx::Result<Option<User>> {
        let row: Option<(i64, String, String, String)> =
            sqlx::query_as("select id, email, name, role from users where id = ?")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let Some((id, email, name, role)) = row else {
            return Ok(None);
        };
        let teams = sqlx::query_as(
            r#"select t.id, t.slug, t.name, s.slug as school_slug
               from team_members m join teams t on t.id = m.team_id
               join schools s on s.id = t.school_id
               where m.user_id = ? order by t.name"#,
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
        sqlx::query_scalar("select id from users where email = ?")
            .bind(email.to_lowercase())
            .fetch_optional(&self.read)
            .await
    }

    /// Sets a role; false when there is no such person.
    pub async fn set_role(&self, user_id: i64, role: Role) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("update users set role = ? where id = ?")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
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
            "insert or ignore into team_members (team_id, user_id) select id, ?2 from teams where slug = ?1"
        } else {
            "delete from team_members where user_id = ?2 and team_id = (select id from teams where slug = ?1)"
        };
        sqlx::query(sql)
            .bind(team_slug)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let known: bool = sqlx::query_scalar("select count(*) > 0 from teams where slug = ?")
            .bind(team_slug)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(known)
    }

    /// Whether a team with this slug exists.
    pub async fn team_exists(&self, slug: &str) -> sqlx::Result<bool> {
        sqlx::query_scalar("select count(*) > 0 from teams where slug = ?")
            .bind(slug)
            .fetch_one(&self.read)
            .await
    }

    pub async fn people(&self) -> sqlx::Result<Vec<PersonRow>> {
        sqlx::query_as(
            r#"select u.id, u.email, u.name, u.role, u.last_seen_at,
                 (select d.name from districts d where d.id = u.district_id) as district,
                 coalesce((select group_concat(t.name, ', ') from team_members m
                           join teams t on t.id = m.team_id where m.user_id = u.id), '') as teams
               from users u order by u.name, u.email"#,
        )
        .fetch_all(&self.read)
        .await
    }

    /// Every team as (slug, name, school name), for pickers.
    pub async fn teams(&self) -> sqlx::Result<Vec<(String, String, String)>> {
        sqlx::query_as(
            r#"select t.slug, t.name, s.name from teams t join schools s on s.id = t.school_id
               order by t.name"#,
        )
        .fetch_all(&self.read)
        .await
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: Option<i64>,
        csrf_token: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "insert into sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) values (?, ?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(user_id) = user_id {
            sqlx::query(
                "update users set last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') where id = ?",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> sqlx::Result<Option<SessionRow>> {
        let row: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "select id_hash, csrf_token, created_at, last_seen_at, user_id from sessions where id_hash = ?",
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

    pub async fn touch_session(&self, id_hash: &str, now: i64) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("update sessions set last_seen_at = ? where id_hash = ?")
            .bind(now)
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn delete_session(&self, id_hash: &str) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("delete from sessions where id_hash = ?")
            .bind(id_hash)
            .execute(&mut *tx)
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
        sqlx::query("delete from sessions where last_seen_at < ? or created_at < ?")
            .bind(idle_before)
            .bind(created_before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from login_attempts where created_at < ?")
            .bind(attempts_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn create_login_attempt(
        &self,
        state_hash: &str,
        attempt: &LoginAttempt,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            r#"insert into login_attempts (state_hash, provider, pkce_verifier, nonce, return_to, created_at)
               values (?, ?, ?, ?, ?, ?)"#,
        )
        .bind(state_hash)
        .bind(&attempt.provider)
        .bind(&attempt.pkce_verifier)
        .bind(&attempt.nonce)
        .bind(&attempt.return_to)
        .bind(attempt.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Deletes and returns the attempt with this state: a state is good for one callback.
    pub async fn take_login_attempt(&self, state_hash: &str) -> sqlx::Result<Option<LoginAttempt>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query_as(
            r#"delete from login_attempts where state_hash = ?
               returning provider, pkce_verifier, nonce, return_to, created_at"#,
        )
        .bind(state_hash)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}
