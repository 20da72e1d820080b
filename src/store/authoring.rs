//! Writing practices from the web: drafts as immutable revisions, submission, history.

use sqlx::FromRow;

use super::Conn;
use super::sql::{query, query_as, query_scalar};
use tracing::instrument;

use super::export::revision_doc;
use super::import::insert_revision;
use super::review::record_event;
use super::{Db, record_change};
use crate::domain::{PracticeDoc, Slug, Standing, Status, Vocabulary};

/// A practice as its editors see it: the newest revision, whatever its status.
#[derive(Debug, Clone)]
pub struct EditTarget {
    pub id: i64,
    pub team_id: i64,
    /// The originating school (of the owning team).
    pub school_slug: String,
    pub status: Status,
    pub current_revision_id: i64,
    pub current_number: i64,
    pub public_revision_id: Option<i64>,
    pub doc: PracticeDoc,
}

/// The stored columns of an `EditTarget`.
#[derive(FromRow)]
struct TargetRow {
    id: i64,
    team_id: i64,
    school_slug: String,
    status: String,
    current_revision_id: i64,
    current_number: i64,
    public_revision_id: Option<i64>,
}

/// What saving a draft did.
#[derive(Debug, Clone)]
pub enum Saved {
    /// A new revision (or, when nothing changed, the current one); `submitted` when it was
    /// also sent for review.
    Revision {
        slug: Slug,
        revision_id: i64,
        submitted: bool,
    },
    /// Someone saved a newer revision since the form was loaded; nothing was written.
    Conflict {
        theirs: Box<PracticeDoc>,
        revision_id: i64,
        number: i64,
        author: String,
    },
}

#[derive(Debug, Clone, FromRow)]
pub struct RevisionRow {
    pub id: i64,
    pub number: i64,
    pub title: String,
    pub created_at: String,
    pub author: Option<String>,
    pub is_public: bool,
    pub is_current: bool,
}

/// A practice on someone's `/me` page.
#[derive(Debug, Clone, FromRow)]
pub struct WorkRow {
    pub slug: String,
    pub title: String,
    pub status: String,
    pub team_name: String,
    pub updated_at: String,
    pub public: bool,
}

impl WorkRow {
    /// Its status, and that of an edit waiting behind its public revision.
    pub fn standing(&self) -> Standing {
        Standing::of(
            Status::parse(&self.status).unwrap_or(Status::Draft),
            self.public,
        )
    }
}

/// Sends practice `id` for review if `revision_id` is still its current revision and it is a
/// draft or was returned; false otherwise. Inside the caller's transaction.
async fn submit_in(tx: &mut Conn, id: i64, revision_id: i64, by: i64) -> sqlx::Result<bool> {
    let done = query(format!(
        r#"update practices set status = 'submitted', updated_at = {}
           where id = $1 and current_revision_id = $2 and status in ('draft', 'returned')"#,
        tx.dialect().now()
    ))
    .bind(id)
    .bind(revision_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        record_event(tx, id, Some(revision_id), "submitted", Some(by)).await?;
        record_change(tx, id, "practice").await?;
    }
    Ok(done)
}

impl Db {
    pub async fn edit_target(&self, slug: &str) -> anyhow::Result<Option<EditTarget>> {
        let mut conn = self.acquire().await?;
        let row: Option<TargetRow> = query_as(
            r#"select p.id, p.team_id, s.slug as school_slug, p.status, p.current_revision_id,
                      r.number as current_number, p.public_revision_id
               from practices p join practice_revisions r on r.id = p.current_revision_id
               join teams t on t.id = p.team_id join schools s on s.id = t.school_id
               where p.slug = $1"#,
        )
        .bind(slug)
        .fetch_optional(&mut conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let Some((_, doc)) = revision_doc(&mut conn, row.current_revision_id).await? else {
            return Ok(None);
        };
        Ok(Some(EditTarget {
            id: row.id,
            team_id: row.team_id,
            school_slug: row.school_slug,
            status: Status::parse(&row.status).unwrap_or(Status::Draft),
            current_revision_id: row.current_revision_id,
            current_number: row.current_number,
            public_revision_id: row.public_revision_id,
            doc,
        }))
    }

    /// Saves `doc` as a new draft revision by `author`. For an existing practice `base` is
    /// the revision the form was loaded from: if another was saved since, nothing is written
    /// (unless the text is identical to it: a form posted twice saves once). With `submit`,
    /// the saved revision is also sent for review in the same transaction: a crash cannot
    /// leave a saved draft whose "submit" did not happen.
    ///
    /// The Markdown is rendered before the writer is taken: a long render never holds up
    /// other people's saves.
    #[instrument(skip_all, fields(practice.slug = %doc.slug))]
    pub async fn save_draft(
        &self,
        author: i64,
        doc: &PracticeDoc,
        base: Option<i64>,
        submit: bool,
    ) -> anyhow::Result<Saved> {
        let sections = doc.sections.clone();
        let renderer = self.renderer().clone();
        let body_html =
            tokio::task::spawn_blocking(move || renderer.render_body(&sections)).await?;
        let mut tx = self.begin_write().await?;
        let (id, slug, revision_id) = match base {
            None => {
                // A new practice: its slug comes from the title; a taken one gets a number.
                let mut doc = doc.clone();
                let stem = doc.slug.as_str().to_string();
                for n in 2.. {
                    let taken: bool =
                        query_scalar("select count(*) > 0 from practices where slug = $1")
                            .bind(doc.slug.as_str())
                            .fetch_one(&mut tx)
                            .await?;
                    if !taken {
                        break;
                    }
                    doc.slug = Slug::parse(&format!("{stem}-{n}")).map_err(anyhow::Error::msg)?;
                }
                let id: i64 = query_scalar(
                    r#"insert into practices (slug, team_id, status, stage)
                       values ($1, (select id from teams where slug = $2), 'draft', $3) returning id"#,
                )
                .bind(doc.slug.as_str())
                .bind(doc.team.as_str())
                .bind(doc.stage.as_str())
                .fetch_one(&mut tx)
                .await?;
                let revision_id =
                    insert_revision(&mut tx, id, &doc, &body_html, Some(author)).await?;
                record_change(&mut tx, id, "practice").await?;
                (id, doc.slug, revision_id)
            }
            Some(base) => {
                let (id, current, status): (i64, i64, String) = query_as(
                    "select id, current_revision_id, status from practices where slug = $1",
                )
                .bind(doc.slug.as_str())
                .fetch_one(&mut tx)
                .await?;
                let (_, stored) = revision_doc(&mut tx, current)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("practice {} has no revision", doc.slug))?;
                if super::import::same_content(&stored, doc) {
                    (id, doc.slug.clone(), current)
                } else if current != base {
                    let (number, author): (i64, String) = query_as(
                        r#"select r.number, coalesce(u.name, 'an import') from practice_revisions r
                           left join users u on u.id = r.author_id where r.id = $1"#,
                    )
                    .bind(current)
                    .fetch_one(&mut tx)
                    .await?;
                    return Ok(Saved::Conflict {
                        theirs: Box::new(stored),
                        revision_id: current,
                        number,
                        author,
                    });
                } else {
                    let revision_id =
                        insert_revision(&mut tx, id, doc, &body_html, Some(author)).await?;
                    // An edit of a vetted practice waits as a draft; its vetted revision stays
                    // public.
                    let next = if status == Status::Archived.as_str() {
                        Status::Archived
                    } else {
                        Status::Draft
                    };
                    query(format!(
                        "update practices set status = $1, updated_at = {} where id = $2",
                        tx.dialect().now()
                    ))
                    .bind(next.as_str())
                    .bind(id)
                    .execute(&mut tx)
                    .await?;
                    record_change(&mut tx, id, "practice").await?;
                    (id, doc.slug.clone(), revision_id)
                }
            }
        };
        let submitted = submit && submit_in(&mut tx, id, revision_id, author).await?;
        tx.commit().await?;
        Ok(Saved::Revision {
            slug,
            revision_id,
            submitted,
        })
    }

    /// Sends the current revision to the review queue, if it is still `revision_id`.
    pub async fn submit(&self, slug: &str, revision_id: i64, by: i64) -> anyhow::Result<bool> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> = query_scalar("select id from practices where slug = $1")
            .bind(slug)
            .fetch_optional(&mut tx)
            .await?;
        let done = match id {
            Some(id) => submit_in(&mut tx, id, revision_id, by).await?,
            None => false,
        };
        tx.commit().await?;
        Ok(done)
    }

    pub async fn revisions(&self, slug: &str) -> sqlx::Result<Vec<RevisionRow>> {
        query_as(
            r#"select r.id, r.number, r.title, r.created_at, u.name as author,
                      r.id = coalesce(p.public_revision_id, -1) as is_public,
                      r.id = p.current_revision_id as is_current
               from practice_revisions r join practices p on p.id = r.practice_id
               left join users u on u.id = r.author_id
               where p.slug = $1 order by r.number desc"#,
        )
        .bind(slug)
        .fetch_all(&self.read)
        .await
    }

    /// One revision of a practice, by its number, as a doc.
    pub async fn revision_by_number(
        &self,
        slug: &str,
        number: i64,
    ) -> anyhow::Result<Option<PracticeDoc>> {
        let mut conn = self.acquire().await?;
        let id: Option<i64> = query_scalar(
            r#"select r.id from practice_revisions r join practices p on p.id = r.practice_id
               where p.slug = $1 and r.number = $2"#,
        )
        .bind(slug)
        .bind(number)
        .fetch_optional(&mut conn)
        .await?;
        let Some(id) = id else { return Ok(None) };
        Ok(revision_doc(&mut conn, id).await?.map(|(_, d)| d))
    }

    /// One revision, by id, as a doc.
    pub async fn revision(&self, id: i64) -> anyhow::Result<Option<PracticeDoc>> {
        let mut conn = self.acquire().await?;
        Ok(revision_doc(&mut conn, id).await?.map(|(_, d)| d))
    }

    /// The practices of the person's teams, newest change first.
    pub async fn team_work(&self, user_id: i64) -> sqlx::Result<Vec<WorkRow>> {
        query_as(
            r#"select p.slug, r.title, p.status, t.name as team_name, p.updated_at,
                      p.public_revision_id is not null as public
               from practices p join practice_revisions r on r.id = p.current_revision_id
               join teams t on t.id = p.team_id
               join team_members m on m.team_id = p.team_id and m.user_id = $1
               order by p.updated_at desc, p.slug"#,
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await
    }
}
