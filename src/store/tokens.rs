//! Personal access tokens for the API: made by a signed-in person at `/me/tokens`, kept as a
//! hash, scoped, optionally expiring, revocable.

use sqlx::FromRow;

use super::Db;
use super::sql::{query, query_as, query_scalar};

/// A token as its owner's list shows it (never the token itself).
#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A token to keep: only its hash and the prefix it is listed by.
pub struct NewToken<'a> {
    pub user: i64,
    pub name: &'a str,
    pub hash: &'a str,
    pub prefix: &'a str,
    /// Space-separated.
    pub scopes: &'a str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// Who a presented token speaks for.
#[derive(Debug, Clone, FromRow)]
pub struct TokenOwner {
    pub id: i64,
    pub user_id: i64,
    pub scopes: String,
    pub last_used_at: Option<i64>,
}

/// A token's `last_used_at` moves at most this often (seconds): a busy script must not turn
/// every read into a write.
const USE_RECORDED_EVERY: i64 = 60;

impl Db {
    /// Keeps a new token (its hash).
    pub async fn create_token(&self, t: &NewToken<'_>) -> sqlx::Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = query_scalar(
            r#"insert into api_tokens (user_id, name, hash, prefix, scopes, created_at, expires_at)
               values ($1, $2, $3, $4, $5, $6, $7) returning id"#,
        )
        .bind(t.user)
        .bind(t.name)
        .bind(t.hash)
        .bind(t.prefix)
        .bind(t.scopes)
        .bind(t.created_at)
        .bind(t.expires_at)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `user`'s tokens, newest first, revoked ones included (they say so).
    pub async fn tokens_of(&self, user: i64) -> sqlx::Result<Vec<TokenRow>> {
        query_as(
            r#"select id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at
               from api_tokens where user_id = $1 order by id desc"#,
        )
        .bind(user)
        .fetch_all(&self.read)
        .await
    }

    /// Revokes one of `user`'s tokens; false when it is not theirs or already revoked.
    pub async fn revoke_token(&self, user: i64, id: i64, now: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = query(
            "update api_tokens set revoked_at = $3 where id = $1 and user_id = $2 and revoked_at is null",
        )
        .bind(id)
        .bind(user)
        .bind(now)
        .execute(&mut tx)
        .await?
        .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    /// The live token with this hash: not revoked, not expired at `now`.
    pub async fn token_owner(&self, hash: &str, now: i64) -> sqlx::Result<Option<TokenOwner>> {
        query_as(
            r#"select id, user_id, scopes, last_used_at from api_tokens
               where hash = $1 and revoked_at is null and (expires_at is null or expires_at > $2)"#,
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await
    }

    /// Notes that a token was used, unless that was noted a moment ago.
    pub async fn token_used(&self, token: &TokenOwner, now: i64) -> sqlx::Result<()> {
        if token
            .last_used_at
            .is_some_and(|at| now - at < USE_RECORDED_EVERY)
        {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        query("update api_tokens set last_used_at = $2 where id = $1")
            .bind(token.id)
            .bind(now)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }
}
