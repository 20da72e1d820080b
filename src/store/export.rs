//! Reads the catalog back out of the database, in the shape of the content format.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, anyhow};
use sqlx::FromRow;
use tracing::instrument;

use super::measures::{MeasureRow, columns};
use super::sql::{Arg, query_as};
use super::{Conn, Db, parse_list};
use crate::content::{AdoptionDoc, AreaDoc, Catalog, DistrictDoc, SchoolDoc, TeamDoc};
use crate::domain::{Cost, Measure, PracticeDoc, Resource, SectionKind, Slug, Vocabulary};

fn vocab<V: Vocabulary>(s: &str) -> anyhow::Result<V> {
    V::parse(s).map_err(|e| anyhow!("stored value: {e}"))
}

fn slug(s: &str) -> anyhow::Result<Slug> {
    Slug::parse(s).map_err(|e| anyhow!("stored slug: {e}"))
}

fn date(s: Option<String>) -> anyhow::Result<Option<time::Date>> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.map(|s| time::Date::parse(&s, format).with_context(|| format!("stored date {s:?}")))
        .transpose()
}

#[derive(FromRow)]
struct PracticeRow {
    id: i64,
    revision_id: i64,
    slug: String,
    team: String,
    status: String,
    published_on: Option<String>,
    vetted_on: Option<String>,
    title: String,
    summary: String,
    grade_bands: String,
    subjects: String,
    tags: String,
    license: Option<String>,
    stage: String,
    start_hours: Option<f64>,
    weekly_hours: Option<f64>,
    materials_cost: Option<f64>,
    currency: Option<String>,
    staff_roles: String,
}

#[derive(FromRow)]
struct SchoolExportRow {
    slug: String,
    name: String,
    district: String,
    level: String,
    locale: String,
    nces_locale: Option<String>,
    enrolment: Option<String>,
    economically_disadvantaged: Option<String>,
    english_learners: Option<String>,
    students_with_disabilities: Option<String>,
}

/// The newest revision of each practice (of those in `slugs`, or of all) as a doc, by slug,
/// with the practice id.
pub(crate) async fn practice_docs(
    conn: &mut Conn,
    slugs: Option<&[&str]>,
) -> anyhow::Result<HashMap<Slug, (i64, PracticeDoc)>> {
    // Restricts each query over `p` (practices) to the slugs bound as `$1`; with no slugs the
    // bind is null and the condition always true. Two spellings, so that the slug index
    // serves the first.
    let (only_filter, only) = match slugs {
        Some(s) => (conn.dialect().in_list("p.slug", "$1"), Arg::texts(s)),
        None => ("$1 is null".to_owned(), Arg::Text(None)),
    };
    docs_at(conn, "p.current_revision_id", &only_filter, only).await
}

/// One revision of a practice as a doc (status and dates are the practice's now), with the
/// practice id.
pub(crate) async fn revision_doc(
    conn: &mut Conn,
    revision_id: i64,
) -> anyhow::Result<Option<(i64, PracticeDoc)>> {
    let filter = "p.id = (select practice_id from practice_revisions where id = $1)";
    let docs = docs_at(conn, "$1", filter, Arg::I64(Some(revision_id))).await?;
    Ok(docs.into_values().next())
}

/// The docs of the revision `revision` (an SQL expression over `p`, which may use `$1`) of
/// the practices that `only_filter` (binding `$1` to `only`) selects.
async fn docs_at(
    conn: &mut Conn,
    revision: &str,
    only_filter: &str,
    only: Arg<'_>,
) -> anyhow::Result<HashMap<Slug, (i64, PracticeDoc)>> {
    let sql = format!(
        r#"select p.id, r.id as revision_id, p.slug, t.slug as team, p.status, p.published_on, p.vetted_on,
                  r.title, r.summary, r.grade_bands, r.subjects, r.tags, r.license, r.stage,
                  r.start_hours, r.weekly_hours, r.materials_cost, r.currency, r.staff_roles
           from practices p
           join practice_revisions r on r.id = {revision}
           join teams t on t.id = p.team_id
           where {only_filter}"#
    );
    let rows: Vec<PracticeRow> = query_as(&sql)
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await?;

    let mut sections: HashMap<i64, BTreeMap<SectionKind, String>> = HashMap::new();
    let sql = format!(
        r#"select s.revision_id, s.kind, s.markdown from revision_sections s
           join practices p on {revision} = s.revision_id
           where {only_filter}"#
    );
    for (rev, kind, md) in query_as::<(i64, String, String)>(&sql)
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await?
    {
        let kind =
            SectionKind::from_key(&kind).ok_or_else(|| anyhow!("stored section {kind:?}"))?;
        sections.entry(rev).or_default().insert(kind, md);
    }
    let mut areas: HashMap<i64, Vec<Slug>> = HashMap::new();
    let sql = format!(
        r#"select rca.revision_id, a.slug from revision_challenge_areas rca
           join practices p on {revision} = rca.revision_id
           join challenge_areas a on a.id = rca.challenge_area_id
           where {only_filter}
           order by rca.revision_id, rca.position"#
    );
    for (rev, area) in query_as::<(i64, String)>(&sql)
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await?
    {
        areas.entry(rev).or_default().push(slug(&area)?);
    }
    let mut resources: HashMap<i64, Vec<Resource>> = HashMap::new();
    let sql = format!(
        r#"select r.revision_id, r.title, r.url from resources r
           join practices p on {revision} = r.revision_id
           where {only_filter}
           order by r.revision_id, r.position"#
    );
    for (rev, title, url) in query_as::<(i64, String, String)>(&sql)
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await?
    {
        resources
            .entry(rev)
            .or_default()
            .push(Resource { title, url });
    }
    let mut measures: HashMap<i64, Vec<Measure>> = HashMap::new();
    let sql = format!(
        r#"select m.revision_id as owner, {}
           from measures m join practices p on {revision} = m.revision_id
           where {only_filter}
           order by m.revision_id, m.position"#,
        columns("m.")
    );
    for row in query_as::<MeasureRow>(&sql)
        .bind(only.clone())
        .fetch_all(&mut *conn)
        .await?
    {
        measures.entry(row.owner).or_default().push(
            row.into_measure()
                .map_err(|e| anyhow!("stored value: {e}"))?,
        );
    }

    let mut out = HashMap::new();
    for r in rows {
        let doc = PracticeDoc {
            slug: slug(&r.slug)?,
            title: r.title,
            summary: r.summary,
            challenge_areas: areas.remove(&r.revision_id).unwrap_or_default(),
            grade_bands: parse_list(&r.grade_bands)
                .iter()
                .map(|s| vocab(s))
                .collect::<Result<_, _>>()?,
            subjects: parse_list(&r.subjects)
                .iter()
                .map(|s| vocab(s))
                .collect::<Result<_, _>>()?,
            team: slug(&r.team)?,
            stage: vocab(&r.stage)?,
            status: vocab(&r.status)?,
            published_on: date(r.published_on)?,
            vetted_on: date(r.vetted_on)?,
            tags: parse_list(&r.tags),
            license: r.license,
            measures: measures.remove(&r.revision_id).unwrap_or_default(),
            resources: resources.remove(&r.revision_id).unwrap_or_default(),
            cost: Cost {
                start_hours: r.start_hours,
                weekly_hours: r.weekly_hours,
                materials: r.materials_cost,
                currency: r.currency,
                staff_roles: parse_list(&r.staff_roles),
            },
            sections: sections.remove(&r.revision_id).unwrap_or_default(),
        };
        out.insert(doc.slug.clone(), (r.id, doc));
    }
    Ok(out)
}

#[derive(FromRow)]
struct AdoptionRow {
    id: i64,
    practice: String,
    team: String,
    status: String,
    started_on: Option<String>,
    aspects_kept: String,
    adaptations: Option<String>,
    outcome: Option<String>,
}

/// The whole catalog as the content format holds it.
#[instrument(skip_all)]
pub async fn export_catalog(db: &Db) -> anyhow::Result<Catalog> {
    // One read transaction: one consistent snapshot even while an import commits.
    let mut conn = db.begin_read().await?;
    export_from(&mut conn).await
}

/// The whole catalog as `conn` sees it: `copy` exports the target from inside its
/// uncommitted transaction.
pub(crate) async fn export_from(conn: &mut Conn) -> anyhow::Result<Catalog> {
    let areas = query_as::<(String, String, String)>(
        "select slug, name, description from challenge_areas order by position, slug",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(s, name, description)| {
        Ok(AreaDoc {
            slug: slug(&s)?,
            name,
            description,
        })
    })
    .collect::<anyhow::Result<_>>()?;
    let districts = query_as::<(String, String)>("select slug, name from districts order by id")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(s, name)| {
            Ok(DistrictDoc {
                slug: slug(&s)?,
                name,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let schools = query_as::<SchoolExportRow>(
        r#"select s.slug, s.name, d.slug as district, s.level, s.locale, s.nces_locale, s.enrolment,
                  s.economically_disadvantaged, s.english_learners, s.students_with_disabilities
           from schools s join districts d on d.id = s.district_id order by s.id"#,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(SchoolDoc {
            slug: slug(&r.slug)?,
            name: r.name,
            district: slug(&r.district)?,
            level: vocab(&r.level)?,
            locale: vocab(&r.locale)?,
            profile: crate::domain::SchoolProfile {
                nces_locale: r.nces_locale.as_deref().map(vocab).transpose()?,
                enrolment: r.enrolment.as_deref().map(vocab).transpose()?,
                economically_disadvantaged: r
                    .economically_disadvantaged
                    .as_deref()
                    .map(vocab)
                    .transpose()?,
                english_learners: r.english_learners.as_deref().map(vocab).transpose()?,
                students_with_disabilities: r
                    .students_with_disabilities
                    .as_deref()
                    .map(vocab)
                    .transpose()?,
            },
        })
    })
    .collect::<anyhow::Result<_>>()?;
    let teams = query_as::<(String, String, String, String, String, String)>(
        r#"select t.slug, t.name, s.slug, t.cycle, a.slug, t.aim from teams t
           join schools s on s.id = t.school_id
           join challenge_areas a on a.id = t.challenge_area_id order by t.id"#,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(s, name, school, cycle, area, aim)| {
        Ok(TeamDoc {
            slug: slug(&s)?,
            name,
            school: slug(&school)?,
            cycle,
            challenge_area: slug(&area)?,
            aim,
        })
    })
    .collect::<anyhow::Result<_>>()?;

    let mut practices: Vec<PracticeDoc> = practice_docs(conn, None)
        .await?
        .into_values()
        .map(|(_, d)| d)
        .collect();
    practices.sort_by(|a, b| a.slug.cmp(&b.slug));

    let mut adoption_measures: HashMap<i64, Vec<Measure>> = HashMap::new();
    for row in query_as::<MeasureRow>(&format!(
        "select adoption_id as owner, {} from measures where adoption_id is not null \
             order by adoption_id, position",
        columns("")
    ))
    .fetch_all(&mut *conn)
    .await?
    {
        adoption_measures.entry(row.owner).or_default().push(
            row.into_measure()
                .map_err(|e| anyhow!("stored value: {e}"))?,
        );
    }
    let adoptions = query_as::<AdoptionRow>(
        r#"select ad.id, p.slug as practice, t.slug as team, ad.status, ad.started_on, ad.aspects_kept,
                  ad.adaptations, ad.outcome
           from adoptions ad join practices p on p.id = ad.practice_id join teams t on t.id = ad.team_id
           order by p.slug, t.slug"#,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|a| {
        Ok(AdoptionDoc {
            practice: slug(&a.practice)?,
            team: slug(&a.team)?,
            status: vocab(&a.status)?,
            started_on: date(a.started_on)?,
            aspects_kept: serde_json::from_str(&a.aspects_kept)?,
            adaptations: a.adaptations,
            outcome: a.outcome.as_deref().map(vocab).transpose()?,
            measures: adoption_measures.remove(&a.id).unwrap_or_default(),
        })
    })
    .collect::<anyhow::Result<_>>()?;
    Ok(Catalog {
        areas,
        districts,
        schools,
        teams,
        practices,
        adoptions,
        questions: super::questions::export_questions(conn).await?,
        files: super::files::exported_files(conn)
            .await?
            .into_iter()
            .map(|f| {
                let kind =
                    crate::domain::upload::FileKind::detect(&f.content).ok_or_else(|| {
                        anyhow::anyhow!("stored file {} of an unknown kind", f.sha256)
                    })?;
                Ok(crate::content::uploads::FileDoc {
                    practice: slug(&f.practice)?,
                    sha256: f.sha256,
                    name: f.name,
                    kind,
                    content: f.content,
                })
            })
            .collect::<anyhow::Result<_>>()?,
    })
}
