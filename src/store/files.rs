//! Uploaded images and handouts: content-addressed rows in the database (so every instance
//! serves the same bytes and losing an instance's disk loses nothing), and which practice
//! each was uploaded for.

use sha2::{Digest, Sha256};
use sqlx::FromRow;
use tracing::instrument;

use super::sql::{Arg, query, query_as};
use super::{Conn, Db};
use crate::domain::upload::FileKind;

/// A file of a practice, without its content.
#[derive(Debug, Clone, FromRow)]
pub struct FileRow {
    pub sha256: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
}

impl FileRow {
    /// Where the hub serves it.
    pub fn url(&self) -> String {
        format!("/files/{}/{}", self.sha256, self.name)
    }

    pub fn kind(&self) -> Option<FileKind> {
        FileKind::from_content_type(&self.content_type)
    }
}

/// A file's content, to serve.
#[derive(Debug, Clone, FromRow)]
pub struct StoredFile {
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A file with its content and its practice, as an export writes it.
#[derive(Debug, Clone, FromRow)]
pub struct ExportedFile {
    pub practice: String,
    pub sha256: String,
    pub name: String,
    pub content: Vec<u8>,
}

/// The SHA-256 of `content` in lowercase hex, the file's address.
pub fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Db {
    /// Stores `content` (already checked to be of `kind`) as a file of practice
    /// `practice_id` named `name`; returns its SHA-256. The same content uploaded again
    /// (for this practice or another) is stored once; for this practice it takes the new name.
    #[instrument(skip_all, fields(practice.id = practice_id, size = content.len()))]
    pub async fn add_practice_file(
        &self,
        practice_id: i64,
        uploaded_by: i64,
        name: &str,
        kind: FileKind,
        content: &[u8],
    ) -> sqlx::Result<String> {
        let sha = sha256_hex(content);
        let mut tx = self.begin_write().await?;
        attach(
            &mut tx,
            practice_id,
            Some(uploaded_by),
            &sha,
            name,
            kind,
            content,
        )
        .await?;
        tx.commit().await?;
        Ok(sha)
    }

    /// The files uploaded for practice `slug`, newest first.
    pub async fn practice_files(&self, slug: &str) -> sqlx::Result<Vec<FileRow>> {
        query_as(
            r#"select f.sha256, pf.name, f.content_type, f.size
               from practice_files pf join files f on f.sha256 = pf.sha256
               join practices p on p.id = pf.practice_id
               where p.slug = $1 order by pf.created_at desc, pf.name"#,
        )
        .bind(slug)
        .fetch_all(&self.read)
        .await
    }

    /// The file at `sha256`, if the hub holds it.
    pub async fn file(&self, sha256: &str) -> sqlx::Result<Option<StoredFile>> {
        query_as("select content_type, content from files where sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.read)
            .await
    }
}

/// Stores a file and links it to a practice, inside `tx`.
pub(crate) async fn attach(
    tx: &mut Conn,
    practice_id: i64,
    uploaded_by: Option<i64>,
    sha: &str,
    name: &str,
    kind: FileKind,
    content: &[u8],
) -> sqlx::Result<()> {
    query(
        r#"insert into files (sha256, content_type, size, content) values ($1, $2, $3, $4)
           on conflict (sha256) do nothing"#,
    )
    .bind(sha)
    .bind(kind.content_type())
    .bind(content.len() as i64)
    .bind(Arg::Bytes(Some(content.into())))
    .execute(&mut *tx)
    .await?;
    query(
        r#"insert into practice_files (practice_id, sha256, name, uploaded_by)
           values ($1, $2, $3, $4)
           on conflict (practice_id, sha256) do update set name = excluded.name"#,
    )
    .bind(practice_id)
    .bind(sha)
    .bind(name)
    .bind(uploaded_by)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Every practice's files with their content, for an export, by practice and name.
pub(crate) async fn exported_files(conn: &mut Conn) -> sqlx::Result<Vec<ExportedFile>> {
    query_as(
        r#"select p.slug as practice, f.sha256, pf.name, f.content
           from practice_files pf join files f on f.sha256 = pf.sha256
           join practices p on p.id = pf.practice_id
           order by p.slug, pf.name, f.sha256"#,
    )
    .fetch_all(&mut *conn)
    .await
}
