//! Upserts a validated catalog in one transaction: all of it or, on any error, nothing.
//! A catalog directory is streamed: its practices are read, checked and written a batch at a
//! time, so that a million practices import in the memory of a few hundred.

use std::collections::HashMap;

use sqlx::{Sqlite, Transaction};
use tracing::instrument;

use super::{Db, json_list, record_change};
use std::path::Path;

use crate::content::{AdoptionDoc, Catalog, CatalogReader, ContentError};
use crate::domain::{CellSize, Measure, PracticeDoc, Slug, Status, Vocabulary};

/// What an import changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub practices_created: usize,
    pub practices_revised: usize,
    pub practices_unchanged: usize,
    pub adoptions: usize,
}

/// Practices written per batch (and looked up per query).
const BATCH: usize = 256;

#[instrument(skip_all, fields(practices = catalog.practices.len()))]
pub async fn import_catalog(db: &Db, catalog: &Catalog) -> anyhow::Result<ImportReport> {
    let mut tx = db.begin_write().await?;
    let mut import = Import::default();
    import_network(&mut tx, catalog).await?;
    for batch in catalog.practices.chunks(BATCH) {
        import.practices(&mut tx, batch).await?;
    }
    import.adoptions(&mut tx, &catalog.adoptions).await?;
    tx.commit().await?;
    Ok(import.report)
}

/// Reads, checks and imports a catalog directory. Practices are read on a blocking thread
/// and written as they come, in one transaction that is rolled back when any file breaks a
/// rule: the outer error is the database's, the inner one the catalog's problems.
/// `begin` opens the transaction, once there is something to write (a catalog found broken
/// before that never touches the database). `progress(done, total)` follows the practices.
pub async fn import_dir(
    begin: impl AsyncFnOnce() -> anyhow::Result<Transaction<'static, Sqlite>>,
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
    let mut tx = begin().await?;
    let mut import = Import::default();
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
async fn import_network(tx: &mut Transaction<'_, Sqlite>, catalog: &Catalog) -> sqlx::Result<()> {
    for (i, a) in catalog.areas.iter().enumerate() {
        let changed = sqlx::query(
            r#"insert into challenge_areas (slug, name, description, position) values (?, ?, ?, ?)
               on conflict (slug) do update set name = excluded.name,
                 description = excluded.description, position = excluded.position
               where name <> excluded.name or description <> excluded.description
                 or position <> excluded.position"#,
        )
        .bind(a.slug.as_str())
        .bind(&a.name)
        .bind(&a.description)
        .bind(i as i64)
        .execute(&mut **tx)
        .await?;
        reindex_network(tx, changed, Touch::Area, a.slug.as_str()).await?;
    }
    for d in &catalog.districts {
        let changed = sqlx::query(
            "insert into districts (slug, name) values (?, ?)
             on conflict (slug) do update set name = excluded.name where name <> excluded.name",
        )
        .bind(d.slug.as_str())
        .bind(&d.name)
        .execute(&mut **tx)
        .await?;
        reindex_network(tx, changed, Touch::District, d.slug.as_str()).await?;
    }
    for s in &catalog.schools {
        let changed = sqlx::query(
            r#"insert into schools (slug, name, district_id, level, locale)
               values (?, ?, (select id from districts where slug = ?), ?, ?)
               on conflict (slug) do update set name = excluded.name,
                 district_id = excluded.district_id, level = excluded.level, locale = excluded.locale
               where name <> excluded.name or district_id <> excluded.district_id
                 or level <> excluded.level or locale <> excluded.locale"#,
        )
        .bind(s.slug.as_str())
        .bind(&s.name)
        .bind(s.district.as_str())
        .bind(s.level.as_str())
        .bind(s.locale.as_str())
        .execute(&mut **tx)
        .await?;
        reindex_network(tx, changed, Touch::School, s.slug.as_str()).await?;
    }
    for t in &catalog.teams {
        let changed = sqlx::query(
            r#"insert into teams (slug, name, school_id, cycle, challenge_area_id, aim)
               values (?, ?, (select id from schools where slug = ?), ?,
                       (select id from challenge_areas where slug = ?), ?)
               on conflict (slug) do update set name = excluded.name, school_id = excluded.school_id,
                 cycle = excluded.cycle, challenge_area_id = excluded.challenge_area_id, aim = excluded.aim
               where name <> excluded.name or school_id <> excluded.school_id or cycle <> excluded.cycle
                 or challenge_area_id <> excluded.challenge_area_id or aim <> excluded.aim"#,
        )
        .bind(t.slug.as_str())
        .bind(&t.name)
        .bind(t.school.as_str())
        .bind(&t.cycle)
        .bind(t.challenge_area.as_str())
        .bind(&t.aim)
        .execute(&mut **tx)
        .await?;
        reindex_network(tx, changed, Touch::Team, t.slug.as_str()).await?;
    }

    Ok(())
}

/// An import under way: what it did so far, and the ids of the practices it wrote (for the
/// adoptions, which come last).
#[derive(Default)]
struct Import {
    report: ImportReport,
    ids: HashMap<Slug, i64>,
}

impl Import {
    async fn practices(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        batch: &[PracticeDoc],
    ) -> anyhow::Result<()> {
        let slugs: Vec<&str> = batch.iter().map(|p| p.slug.as_str()).collect();
        let existing = super::export::practice_docs(tx, Some(&slugs)).await?;
        for doc in batch {
            let (id, outcome) = upsert_practice(tx, doc, existing.get(&doc.slug)).await?;
            self.ids.insert(doc.slug.clone(), id);
            let r = &mut self.report;
            match outcome {
                Upsert::Created => r.practices_created += 1,
                Upsert::Revised | Upsert::StatusOnly => r.practices_revised += 1,
                Upsert::Unchanged => r.practices_unchanged += 1,
            }
        }
        Ok(())
    }

    async fn adoptions(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        adoptions: &[AdoptionDoc],
    ) -> anyhow::Result<()> {
        let mut adopted: Vec<i64> = Vec::new();
        for a in adoptions {
            let practice_id = self.ids[&a.practice];
            super::adoption::upsert_adoption(tx, practice_id, a, false).await?;
            adopted.push(practice_id);
            self.report.adoptions += 1;
        }
        adopted.sort_unstable();
        adopted.dedup();
        for practice_id in adopted {
            super::adoption::recompute_stage(tx, practice_id).await?;
        }
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
/// belongs), its public practices are re-indexed.
async fn reindex_network(
    tx: &mut Transaction<'_, Sqlite>,
    result: sqlx::sqlite::SqliteQueryResult,
    touch: Touch,
    slug: &str,
) -> sqlx::Result<()> {
    if result.rows_affected() == 0 {
        return Ok(());
    }
    let which = match touch {
        Touch::Area => {
            "p.public_revision_id in (select rca.revision_id from revision_challenge_areas rca \
             join challenge_areas a on a.id = rca.challenge_area_id where a.slug = ?)"
        }
        Touch::District => "d.slug = ?",
        Touch::School => "s.slug = ?",
        Touch::Team => "t.slug = ?",
    };
    sqlx::query(&format!(
        r#"insert into changes (practice_id, kind)
           select p.id, 'network' from practices p
           join teams t on t.id = p.team_id join schools s on s.id = t.school_id
           join districts d on d.id = s.district_id
           where p.public_revision_id is not null and {which}"#
    ))
    .bind(slug)
    .execute(&mut **tx)
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
    tx: &mut Transaction<'_, Sqlite>,
    doc: &PracticeDoc,
    existing: Option<&(i64, PracticeDoc)>,
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
            insert_revision(
                tx,
                *id,
                doc,
                &crate::content::render_body(&doc.sections),
                None,
            )
            .await?;
            (*id, Upsert::Revised)
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                r#"insert into practices (slug, team_id, status, stage)
                   values (?, (select id from teams where slug = ?), ?, ?) returning id"#,
            )
            .bind(doc.slug.as_str())
            .bind(doc.team.as_str())
            .bind(doc.status.as_str())
            .bind(doc.stage.as_str())
            .fetch_one(&mut **tx)
            .await?;
            insert_revision(
                tx,
                id,
                doc,
                &crate::content::render_body(&doc.sections),
                None,
            )
            .await?;
            (id, Upsert::Created)
        }
    };
    if matches!(outcome, Upsert::Unchanged) {
        return Ok((id, outcome));
    }
    // A vetted file makes its newest revision the public one; any other status leaves the
    // last vetted revision public while the newer one waits.
    sqlx::query(
        r#"update practices set team_id = (select id from teams where slug = ?1), status = ?2,
             -- `replicated` is earned from adoptions; recompute_stage alone changes it
             stage = case when stage = 'replicated' then stage else ?3 end,
             -- the public (vetted) revision keeps its dates while a newer one waits for review
             published_on = case when ?4 or public_revision_id is null then ?5 else published_on end,
             vetted_on = case when ?4 or public_revision_id is null then ?6 else vetted_on end,
             public_revision_id = case when ?4 then current_revision_id else public_revision_id end,
             updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
           where id = ?7"#,
    )
    .bind(doc.team.as_str())
    .bind(doc.status.as_str())
    .bind(doc.stage.as_str())
    .bind(doc.status == Status::Vetted)
    .bind(dates(doc.published_on))
    .bind(dates(doc.vetted_on))
    .bind(id)
    .execute(&mut **tx)
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
    tx: &mut Transaction<'_, Sqlite>,
    practice_id: i64,
    doc: &PracticeDoc,
    body_html: &str,
    author: Option<i64>,
) -> anyhow::Result<i64> {
    let revision_id: i64 = sqlx::query_scalar(
        r#"insert into practice_revisions (practice_id, number, title, summary, grade_bands, subjects,
             tags, license, stage, essential_aspects, body_html, author_id)
           values (?, (select coalesce(max(number), 0) + 1 from practice_revisions where practice_id = ?),
                   ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           returning id"#,
    )
    .bind(practice_id)
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
    .fetch_one(&mut **tx)
    .await?;
    for (position, (kind, md)) in doc.sections.iter().enumerate() {
        sqlx::query("insert into revision_sections (revision_id, kind, position, markdown) values (?, ?, ?, ?)")
            .bind(revision_id)
            .bind(kind.key())
            .bind(position as i64)
            .bind(md)
            .execute(&mut **tx)
            .await?;
    }
    for (position, area) in doc.challenge_areas.iter().enumerate() {
        sqlx::query(
            r#"insert into revision_challenge_areas (revision_id, challenge_area_id, position)
               values (?, (select id from challenge_areas where slug = ?), ?)"#,
        )
        .bind(revision_id)
        .bind(area.as_str())
        .bind(position as i64)
        .execute(&mut **tx)
        .await?;
    }
    for (position, r) in doc.resources.iter().enumerate() {
        sqlx::query(
            "insert into resources (revision_id, position, title, url) values (?, ?, ?, ?)",
        )
        .bind(revision_id)
        .bind(position as i64)
        .bind(&r.title)
        .bind(&r.url)
        .execute(&mut **tx)
        .await?;
    }
    insert_measures(tx, Owner::Revision(revision_id), &doc.measures).await?;
    sqlx::query("update practices set current_revision_id = ? where id = ?")
        .bind(revision_id)
        .bind(practice_id)
        .execute(&mut **tx)
        .await?;
    Ok(revision_id)
}

pub(crate) enum Owner {
    Revision(i64),
    Adoption(i64),
}

pub(crate) async fn insert_measures(
    tx: &mut Transaction<'_, Sqlite>,
    owner: Owner,
    measures: &[Measure],
) -> sqlx::Result<()> {
    let (revision_id, adoption_id) = match owner {
        Owner::Revision(id) => (Some(id), None),
        Owner::Adoption(id) => (None, Some(id)),
    };
    for (position, m) in measures.iter().enumerate() {
        sqlx::query(
            r#"insert into measures (revision_id, adoption_id, position, name, ingredient, unit,
                 instrument, baseline, result, n, period)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        )
        .bind(revision_id)
        .bind(adoption_id)
        .bind(position as i64)
        .bind(&m.name)
        .bind(m.ingredient.as_str())
        .bind(m.unit.as_str())
        .bind(&m.instrument)
        .bind(m.baseline)
        .bind(m.result)
        .bind(m.n)
        .bind(&m.period)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
