//! Upserts a validated catalog in one transaction: all of it or, on any error, nothing.
//! A catalog directory is streamed: its practices are read, checked and written a batch at a
//! time, so that a million practices import in the memory of a few hundred.

use std::collections::HashMap;
use std::sync::Arc;

use super::Conn;
use super::sql::{query, query_scalar};
use tracing::instrument;

use super::{Db, json_list, record_change};
use std::path::Path;

use crate::content::{AdoptionDoc, Catalog, CatalogReader, ContentError, Renderer};
use crate::domain::{CellSize, Design, PracticeDoc, Slug, Status, Vocabulary};

/// What an import changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub practices_created: usize,
    pub practices_revised: usize,
    pub practices_unchanged: usize,
    pub adoptions: usize,
    /// Measures read (of practices and adoptions), by design: a measure that names none is
    /// pre-post, which is how a catalog from before designs existed imports.
    pub designs: std::collections::BTreeMap<Design, usize>,
    pub questions: usize,
    /// Uploaded files of practices (`files/`).
    pub files: usize,
}

impl ImportReport {
    /// "41 measures: 40 pre-post, 1 comparison", and what a measure without a design became.
    pub fn designs_line(&self) -> String {
        let total: usize = self.designs.values().sum();
        let parts: Vec<String> = self
            .designs
            .iter()
            .map(|(d, n)| format!("{n} {d}"))
            .collect();
        format!(
            "{total} measures: {} (a measure that names no design is recorded as pre-post: \
             before and after, no comparison group)",
            if parts.is_empty() {
                "none".to_string()
            } else {
                parts.join(", ")
            }
        )
    }

    fn count(&mut self, measures: &[crate::domain::Measure]) {
        for m in measures {
            *self.designs.entry(m.design).or_default() += 1;
        }
    }
}

/// Practices written per batch (and looked up per query).
const BATCH: usize = 256;

#[instrument(skip_all, fields(practices = catalog.practices.len()))]
pub async fn import_catalog(db: &Db, catalog: &Catalog) -> anyhow::Result<ImportReport> {
    let mut tx = db.begin_write().await?;
    let mut import = Import::new(db.renderer().clone());
    import_network(&mut tx, catalog).await?;
    for batch in catalog.practices.chunks(BATCH) {
        import.practices(&mut tx, batch).await?;
    }
    import.adoptions(&mut tx, &catalog.adoptions).await?;
    import.questions(&mut tx, &catalog.questions).await?;
    import.files(&mut tx, &catalog.files).await?;
    tx.commit().await?;
    Ok(import.report)
}

/// Reads, checks and imports a catalog directory. Practices are read on a blocking thread
/// and written as they come, in one transaction that is rolled back when any file breaks a
/// rule: the outer error is the database's, the inner one the catalog's problems.
/// `begin` opens the transaction, once there is something to write (a catalog found broken
/// before that never touches the database). `progress(done, total)` follows the practices.
pub async fn import_dir(
    begin: impl AsyncFnOnce() -> anyhow::Result<(Conn, Arc<Renderer>)>,
    dir: &Path,
    min_cell: CellSize,
    progress: impl Fn(usize, usize),
) -> anyhow::Result<Result<ImportReport, Vec<ContentError>>> {
    let dir = dir.to_path_buf();
    let reader =
        match tokio::task::spawn_blocking(move || CatalogReader::open(&dir, min_cell)).await? {
            Ok(reader) => reader,
            Err(errors) => return Ok(Err(errors)),
        };
    let shared = reader.shared().clone();
    let total = reader.practice_files();
    let (send, mut batches) = tokio::sync::mpsc::channel::<Vec<PracticeDoc>>(4);
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(doc) = reader.next() {
            // After the first problem nothing will be written: only find every problem.
            if reader.has_errors() {
                continue;
            }
            batch.push(doc);
            if batch.len() == BATCH
                && send
                    .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .is_err()
            {
                // The writer failed and returned its error: reading on is wasted work.
                return Ok(Catalog::default());
            }
        }
        if !batch.is_empty() && !reader.has_errors() {
            let _ = send.blocking_send(batch);
        }
        drop(send);
        reader.finish()
    });
    let mut reading = Some(reading);
    let mut batch = batches.recv().await;
    // The reader finished before a batch was ready: a catalog found broken by then stops
    // here, before the database is opened.
    if batch.is_none()
        && let Err(errors) = reading.take().expect("still reading").await?
    {
        return Ok(Err(errors));
    }
    let (mut tx, renderer) = begin().await?;
    let mut import = Import::new(renderer);
    import_network(&mut tx, &shared).await?;
    let mut done = 0;
    while let Some(practices) = batch {
        import.practices(&mut tx, &practices).await?;
        done += practices.len();
        progress(done, total);
        batch = batches.recv().await;
    }
    let checked = match reading {
        Some(reading) => reading.await?,
        None => Ok(Catalog::default()),
    };
    match checked {
        Ok(_) => {
            import.adoptions(&mut tx, &shared.adoptions).await?;
            import.questions(&mut tx, &shared.questions).await?;
            import.files(&mut tx, &shared.files).await?;
            tx.commit().await?;
            Ok(Ok(import.report))
        }
        Err(errors) => {
            tx.rollback().await?;
            Ok(Err(errors))
        }
    }
}

/// Areas, districts, schools and teams (each written only when it changed).
async fn import_network(tx: &mut Conn, catalog: &Catalog) -> sqlx::Result<()> {
    for (i, a) in catalog.areas.iter().enumerate() {
        let changed = query(
            r#"insert into challenge_areas (slug, name, description, position) values ($1, $2, $3, $4)
               on conflict (slug) do update set name = excluded.name,
                 description = excluded.description, position = excluded.position
               where challenge_areas.name <> excluded.name
                 or challenge_areas.description <> excluded.description
                 or challenge_areas.position <> excluded.position"#,
        )
        .bind(a.slug.as_str())
        .bind(&a.name)
        .bind(&a.description)
        .bind(i as i64)
        .execute(&mut *tx)
        .await?;
        reindex_network(tx, changed, Touch::Area, a.slug.as_str()).await?;
    }
    for d in &catalog.districts {
        let changed = query(
            "insert into districts (slug, name) values ($1, $2)
             on conflict (slug) do update set name = excluded.name
             where districts.name <> excluded.name",
        )
        .bind(d.slug.as_str())
        .bind(&d.name)
        .execute(&mut *tx)
        .await?;
        reindex_network(tx, changed, Touch::District, d.slug.as_str()).await?;
    }
    for s in &catalog.schools {
        let changed = query(
            r#"insert into schools (slug, name, district_id, level, locale)
               values ($1, $2, (select id from districts where slug = $3), $4, $5)
               on conflict (slug) do update set name = excluded.name,
                 district_id = excluded.district_id, level = excluded.level, locale = excluded.locale
               where schools.name <> excluded.name or schools.district_id <> excluded.district_id
                 or schools.level <> excluded.level or schools.locale <> excluded.locale"#,
        )
        .bind(s.slug.as_str())
        .bind(&s.name)
        .bind(s.district.as_str())
        .bind(s.level.as_str())
        .bind(s.locale.as_str())
        .execute(&mut *tx)
        .await?;
        let profiled = super::like_mine::write_profile(tx, s.slug.as_str(), &s.profile).await?;
        reindex_network(tx, changed.plus(profiled), Touch::School, s.slug.as_str()).await?;
    }
    for t in &catalog.teams {
        let changed = query(
            r#"insert into teams (slug, name, school_id, cycle, challenge_area_id, aim)
               values ($1, $2, (select id from schools where slug = $3), $4,
                       (select id from challenge_areas where slug = $5), $6)
               on conflict (slug) do update set name = excluded.name, school_id = excluded.school_id,
                 cycle = excluded.cycle, challenge_area_id = excluded.challenge_area_id, aim = excluded.aim
               where teams.name <> excluded.name or teams.school_id <> excluded.school_id
                 or teams.cycle <> excluded.cycle
                 or teams.challenge_area_id <> excluded.challenge_area_id or teams.aim <> excluded.aim"#,
        )
        .bind(t.slug.as_str())
        .bind(&t.name)
        .bind(t.school.as_str())
        .bind(&t.cycle)
        .bind(t.challenge_area.as_str())
        .bind(&t.aim)
        .execute(&mut *tx)
        .await?;
        reindex_network(tx, changed, Touch::Team, t.slug.as_str()).await?;
    }

    Ok(())
}

/// An import under way: what it did so far, and the ids of the practices it wrote (for the
/// adoptions, which come last).
struct Import {
    report: ImportReport,
    ids: HashMap<Slug, i64>,
    /// Renders the revisions it writes under the hub's image policy.
    renderer: Arc<Renderer>,
}

impl Import {
    fn new(renderer: Arc<Renderer>) -> Import {
        Import {
            report: ImportReport::default(),
            ids: HashMap::new(),
            renderer,
        }
    }

    async fn practices(&mut self, tx: &mut Conn, batch: &[PracticeDoc]) -> anyhow::Result<()> {
        let slugs: Vec<&str> = batch.iter().map(|p| p.slug.as_str()).collect();
        let existing = super::export::practice_docs(tx, Some(&slugs)).await?;
        for doc in batch {
            let (id, outcome) =
                upsert_practice(tx, doc, existing.get(&doc.slug), &self.renderer).await?;
            self.ids.insert(doc.slug.clone(), id);
            self.report.count(&doc.measures);
            let r = &mut self.report;
            match outcome {
                Upsert::Created => r.practices_created += 1,
                Upsert::Revised | Upsert::StatusOnly => r.practices_revised += 1,
                Upsert::Unchanged => r.practices_unchanged += 1,
            }
        }
        Ok(())
    }

    async fn adoptions(&mut self, tx: &mut Conn, adoptions: &[AdoptionDoc]) -> anyhow::Result<()> {
        let mut adopted: Vec<i64> = Vec::new();
        for a in adoptions {
            let practice_id = self.ids[&a.practice];
            super::adoption::upsert_adoption(tx, practice_id, a, false).await?;
            adopted.push(practice_id);
            self.report.adoptions += 1;
            self.report.count(&a.measures);
        }
        adopted.sort_unstable();
        adopted.dedup();
        for practice_id in adopted {
            super::adoption::recompute_stage(tx, practice_id).await?;
        }
        Ok(())
    }
}

impl Import {
    async fn questions(
        &mut self,
        tx: &mut Conn,
        questions: &[crate::content::QuestionDoc],
    ) -> anyhow::Result<()> {
        self.report.questions +=
            super::questions::import_questions(tx, &self.ids, questions).await?;
        Ok(())
    }

    /// Stores the practices' files (after the practices, whose ids they need).
    async fn files(
        &mut self,
        tx: &mut Conn,
        files: &[crate::content::uploads::FileDoc],
    ) -> anyhow::Result<()> {
        for f in files {
            let id = self
                .ids
                .get(&f.practice)
                .ok_or_else(|| anyhow::anyhow!("{}: no practice {}", f.path(), f.practice))?;
            super::files::attach(tx, *id, None, &f.sha256, &f.name, f.kind, &f.content).await?;
        }
        self.report.files += files.len();
        Ok(())
    }
}

/// A network row whose change shows in its practices' search documents.
enum Touch {
    Area,
    District,
    School,
    Team,
}

/// When an upsert changed a network row (names, level, locale, where a team or school
/// belongs), its public practices are re-indexed, and one row with no practice records the
/// change itself: a team, school or district with no public practice has pages too, and
/// the caches move on only when the index applies a change.
async fn reindex_network(
    tx: &mut Conn,
    result: super::sql::Done,
    touch: Touch,
    slug: &str,
) -> sqlx::Result<()> {
    if result.rows_affected() == 0 {
        return Ok(());
    }
    let which = match touch {
        Touch::Area => {
            "p.public_revision_id in (select rca.revision_id from revision_challenge_areas rca \
             join challenge_areas a on a.id = rca.challenge_area_id where a.slug = $1)"
        }
        Touch::District => "d.slug = $1",
        Touch::School => "s.slug = $1",
        Touch::Team => "t.slug = $1",
    };
    query(format!(
        r#"insert into changes (practice_id, kind)
           select p.id, 'network' from practices p
           join teams t on t.id = p.team_id join schools s on s.id = t.school_id
           join districts d on d.id = s.district_id
           where p.public_revision_id is not null and {which}"#
    ))
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    query("insert into changes (practice_id, kind) values (null, 'network')")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

enum Upsert {
    Created,
    Revised,
    StatusOnly,
    Unchanged,
}

/// Stores one practice: a new revision when its content changed, the practice row always.
async fn upsert_practice(
    tx: &mut Conn,
    doc: &PracticeDoc,
    existing: Option<&(i64, PracticeDoc)>,
    renderer: &Renderer,
) -> anyhow::Result<(i64, Upsert)> {
    let dates = |d: Option<time::Date>| d.map(|d| d.to_string());
    let (id, outcome) = match existing {
        Some((id, old)) if same_content(old, doc) => {
            let status_same = old.status == doc.status
                && old.stage == doc.stage
                && old.published_on == doc.published_on
                && old.vetted_on == doc.vetted_on;
            (
                *id,
                if status_same {
                    Upsert::Unchanged
                } else {
                    Upsert::StatusOnly
                },
            )
        }
        Some((id, _)) => {
            insert_revision(tx, *id, doc, &renderer.render_body(&doc.sections), None).await?;
            (*id, Upsert::Revised)
        }
        None => {
            let id: i64 = query_scalar(
                r#"insert into practices (slug, team_id, status, stage)
                   values ($1, (select id from teams where slug = $2), $3, $4) returning id"#,
            )
            .bind(doc.slug.as_str())
            .bind(doc.team.as_str())
            .bind(doc.status.as_str())
            .bind(doc.stage.as_str())
            .fetch_one(&mut *tx)
            .await?;
            insert_revision(tx, id, doc, &renderer.render_body(&doc.sections), None).await?;
            (id, Upsert::Created)
        }
    };
    if matches!(outcome, Upsert::Unchanged) {
        return Ok((id, outcome));
    }
    // A vetted file makes its newest revision the public one; any other status leaves the
    // last vetted revision public while the newer one waits.
    query(format!(
        r#"update practices set team_id = (select id from teams where slug = $1), status = $2,
             -- `replicated` is earned from adoptions; recompute_stage alone changes it
             stage = case when stage = 'replicated' then stage else $3 end,
             -- the public (vetted) revision keeps its dates while a newer one waits for review
             published_on = case when $4 or public_revision_id is null then $5 else published_on end,
             vetted_on = case when $4 or public_revision_id is null then $6 else vetted_on end,
             public_revision_id = case when $4 then current_revision_id else public_revision_id end,
             updated_at = {now}
           where id = $7"#,
        now = tx.dialect().now()
    ))
    .bind(doc.team.as_str())
    .bind(doc.status.as_str())
    .bind(doc.stage.as_str())
    .bind(doc.status == Status::Vetted)
    .bind(dates(doc.published_on))
    .bind(dates(doc.vetted_on))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    record_change(tx, id, "practice").await?;
    Ok((id, outcome))
}

/// Whether two docs have the same revision content (status and dates live on the practice).
pub(crate) fn same_content(a: &PracticeDoc, b: &PracticeDoc) -> bool {
    let strip = |d: &PracticeDoc| PracticeDoc {
        status: Status::Draft,
        published_on: None,
        vetted_on: None,
        ..d.clone()
    };
    strip(a) == strip(b)
}

/// Writes an immutable revision: its Markdown, the HTML rendered from it once, its lists.
pub(crate) async fn insert_revision(
    tx: &mut Conn,
    practice_id: i64,
    doc: &PracticeDoc,
    body_html: &str,
    author: Option<i64>,
) -> anyhow::Result<i64> {
    let revision_id: i64 = query_scalar(
        r#"insert into practice_revisions (practice_id, number, title, summary, grade_bands, subjects,
             tags, license, stage, essential_aspects, body_html, author_id,
             start_hours, weekly_hours, materials_cost, currency, staff_roles)
           values ($1, (select coalesce(max(number), 0) + 1 from practice_revisions where practice_id = $1),
                   $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
           returning id"#,
    )
    .bind(practice_id)
    .bind(&doc.title)
    .bind(&doc.summary)
    .bind(json_list(&doc.grade_bands.iter().map(|g| g.as_str()).collect::<Vec<_>>()))
    .bind(json_list(&doc.subjects.iter().map(|s| s.as_str()).collect::<Vec<_>>()))
    .bind(json_list(&doc.tags))
    .bind(&doc.license)
    .bind(doc.stage.as_str())
    .bind(json_list(&doc.essential_aspects()))
    .bind(body_html)
    .bind(author)
    .bind(doc.cost.start_hours)
    .bind(doc.cost.weekly_hours)
    .bind(doc.cost.materials)
    .bind(&doc.cost.currency)
    .bind(json_list(&doc.cost.staff_roles))
    .fetch_one(&mut *tx)
    .await?;
    for (position, (kind, md)) in doc.sections.iter().enumerate() {
        query("insert into revision_sections (revision_id, kind, position, markdown) values ($1, $2, $3, $4)")
            .bind(revision_id)
            .bind(kind.key())
            .bind(position as i64)
            .bind(md)
            .execute(&mut *tx)
            .await?;
    }
    for (position, area) in doc.challenge_areas.iter().enumerate() {
        query(
            r#"insert into revision_challenge_areas (revision_id, challenge_area_id, position)
               values ($1, (select id from challenge_areas where slug = $2), $3)"#,
        )
        .bind(revision_id)
        .bind(area.as_str())
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    for (position, r) in doc.resources.iter().enumerate() {
        query("insert into resources (revision_id, position, title, url) values ($1, $2, $3, $4)")
            .bind(revision_id)
            .bind(position as i64)
            .bind(&r.title)
            .bind(&r.url)
            .execute(&mut *tx)
            .await?;
    }
    super::measures::insert(
        tx,
        super::measures::Owner::Revision(revision_id),
        &doc.measures,
    )
    .await?;
    query("update practices set current_revision_id = $1 where id = $2")
        .bind(revision_id)
        .bind(practice_id)
        .execute(&mut *tx)
        .await?;
    Ok(revision_id)
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::{query, query_as, query_scalar};

    /// The store's SQL uses `$N` placeholders, reused and out of order, so that the same text
    /// runs on PostgreSQL. That relies on sqlx-sqlite binding `$N` by its number, not by its
    /// position in the statement: pinned here.
    #[tokio::test]
    async fn numbered_parameters_bind_by_number_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let row: (String, i64, String, i64) = query_as("select $2, $1, $2, $1 + $1")
            .bind(20_i64)
            .bind("two")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row, ("two".to_string(), 20, "two".to_string(), 40));

        // A write reusing a number inside a subquery, as `insert_revision` does.
        query("create table t (a integer, b text, c integer)")
            .execute(&pool)
            .await
            .unwrap();
        for _ in 0..2 {
            query(
                "insert into t (a, b, c) values ($2, $1, (select count(*) from t where b = $1) + $2)",
            )
            .bind("x")
            .bind(7_i64)
            .execute(&pool)
            .await
            .unwrap();
        }
        let rows: Vec<(i64, String, i64)> = query_as("select a, b, c from t order by c")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(rows, vec![(7, "x".to_string(), 7), (7, "x".to_string(), 8)]);

        // Binds that no placeholder uses are ignored (`adoptions_where` binds three and a
        // condition uses some of them).
        let third: i64 = query_scalar("select $3 + 1")
            .bind(None::<&str>)
            .bind(Some("unused"))
            .bind(Some(41_i64))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(third, 42);
    }
}
