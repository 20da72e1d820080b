//! "Schools like mine": school profiles, and where each public practice worked.

use std::collections::HashMap;

use sqlx::FromRow;
use tracing::instrument;

use super::sql::{Done, query, query_as};
use super::{Conn, Db};
use crate::domain::profile::{SchoolTraits, WorkedAt};
use crate::domain::{SchoolProfile, Vocabulary};

/// A school with its profile and district, as the "schools like mine" form lists it.
#[derive(Debug, Clone)]
pub struct ProfiledSchool {
    pub traits: SchoolTraits,
    pub district_slug: String,
    pub district_name: String,
}

#[derive(FromRow)]
struct SchoolProfileRow {
    slug: String,
    name: String,
    level: String,
    locale: String,
    nces_locale: Option<String>,
    enrolment: Option<String>,
    economically_disadvantaged: Option<String>,
    english_learners: Option<String>,
    students_with_disabilities: Option<String>,
    district_slug: String,
    district_name: String,
}

/// A stored value of a vocabulary; one that no longer parses is read as not given (the
/// database only ever holds what the parsers let in).
fn opt<V: Vocabulary>(s: Option<String>) -> Option<V> {
    s.and_then(|s| V::parse(&s).ok())
}

impl SchoolProfileRow {
    fn into_school(self) -> Option<ProfiledSchool> {
        Some(ProfiledSchool {
            traits: SchoolTraits {
                slug: self.slug,
                name: self.name,
                level: Vocabulary::parse(&self.level).ok()?,
                locale: Vocabulary::parse(&self.locale).ok()?,
                profile: SchoolProfile {
                    nces_locale: opt(self.nces_locale),
                    enrolment: opt(self.enrolment),
                    economically_disadvantaged: opt(self.economically_disadvantaged),
                    english_learners: opt(self.english_learners),
                    students_with_disabilities: opt(self.students_with_disabilities),
                },
            },
            district_slug: self.district_slug,
            district_name: self.district_name,
        })
    }
}

/// An adoption that reported improvement, with its practice (`Db::worked_at`).
#[derive(FromRow)]
struct WorkedRow {
    id: i64,
    slug: String,
    title: String,
    stage: String,
    origin: String,
    school: String,
    aspects_kept: String,
    essential_aspects: String,
}

const SCHOOLS: &str = r#"
    select s.slug, s.name, s.level, s.locale, s.nces_locale, s.enrolment,
           s.economically_disadvantaged, s.english_learners, s.students_with_disabilities,
           d.slug as district_slug, d.name as district_name
    from schools s join districts d on d.id = s.district_id"#;

/// Sets a school's profile; says how many rows changed (none when it was already so).
pub(crate) async fn write_profile(
    tx: &mut Conn,
    school: &str,
    p: &SchoolProfile,
) -> sqlx::Result<Done> {
    query(
        r#"update schools set nces_locale = $2, enrolment = $3, economically_disadvantaged = $4,
             english_learners = $5, students_with_disabilities = $6
           where slug = $1 and (nces_locale is distinct from $2 or enrolment is distinct from $3
             or economically_disadvantaged is distinct from $4
             or english_learners is distinct from $5
             or students_with_disabilities is distinct from $6)"#,
    )
    .bind(school)
    .bind(p.nces_locale.map(|x| x.as_str()))
    .bind(p.enrolment.map(|x| x.as_str()))
    .bind(p.economically_disadvantaged.map(|x| x.as_str()))
    .bind(p.english_learners.map(|x| x.as_str()))
    .bind(p.students_with_disabilities.map(|x| x.as_str()))
    .execute(&mut *tx)
    .await
}

impl Db {
    /// Every school with its profile, by district name, then school name.
    #[instrument(skip_all)]
    pub async fn profiled_schools(&self) -> sqlx::Result<Vec<ProfiledSchool>> {
        let sql = format!("{SCHOOLS} order by d.name, s.name, s.slug");
        let rows: Vec<SchoolProfileRow> = query_as(&sql).fetch_all(&self.read).await?;
        Ok(rows
            .into_iter()
            .filter_map(SchoolProfileRow::into_school)
            .collect())
    }

    /// One school with its profile, if there is one by that slug.
    #[instrument(skip_all)]
    pub async fn profiled_school(&self, slug: &str) -> sqlx::Result<Option<ProfiledSchool>> {
        let sql = format!("{SCHOOLS} where s.slug = $1");
        let row: Option<SchoolProfileRow> =
            query_as(&sql).bind(slug).fetch_optional(&self.read).await?;
        Ok(row.and_then(SchoolProfileRow::into_school))
    }

    /// Sets a school's profile. The change goes through the feed (a row with no practice),
    /// so every instance's pages and searches move on. False when there is no such school.
    #[instrument(skip_all, fields(school = slug))]
    pub async fn set_school_profile(
        &self,
        slug: &str,
        profile: &SchoolProfile,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let exists: Option<(i64,)> = query_as("select id from schools where slug = $1")
            .bind(slug)
            .fetch_optional(&mut tx)
            .await?;
        if exists.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        if write_profile(&mut tx, slug, profile).await?.rows_affected() > 0 {
            query("insert into changes (practice_id, kind) values (null, 'network')")
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every public practice that worked somewhere, with the schools where it did: an
    /// adoption reporting *improved* that kept every essential aspect of the revision it
    /// adopted. Drafts, practices waiting for their first vetting, returned and archived
    /// ones are never here; the title and stage are the public revision's.
    #[instrument(skip_all)]
    pub async fn worked_at(&self) -> sqlx::Result<Vec<WorkedAt>> {
        let rows: Vec<WorkedRow> = query_as(
            r#"select p.id, p.slug, r.title,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage,
                      os.slug as origin, s.slug as school, a.aspects_kept, ar.essential_aspects
               from practices p
               join practice_revisions r on r.id = p.public_revision_id
               join teams ot on ot.id = p.team_id
               join schools os on os.id = ot.school_id
               join adoptions a on a.practice_id = p.id
               join practice_revisions ar on ar.id = a.revision_id
               join teams t on t.id = a.team_id
               join schools s on s.id = t.school_id
               where p.status <> 'archived' and a.outcome = 'improved'
               order by p.slug, s.slug"#,
        )
        .fetch_all(&self.read)
        .await?;
        let mut by_practice: Vec<WorkedAt> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for WorkedRow {
            id,
            slug,
            title,
            stage,
            origin,
            school,
            aspects_kept: kept,
            essential_aspects: essential,
        } in rows
        {
            let Ok(stage) = Vocabulary::parse(&stage) else {
                continue;
            };
            if !super::adoption::kept_every_aspect(&kept, &essential) {
                continue;
            }
            let i = *at.entry(slug.clone()).or_insert_with(|| {
                by_practice.push(WorkedAt {
                    id,
                    practice: slug,
                    title,
                    stage,
                    origin,
                    schools: Vec::new(),
                });
                by_practice.len() - 1
            });
            let schools = &mut by_practice[i].schools;
            if !schools.contains(&school) {
                schools.push(school);
            }
        }
        Ok(by_practice)
    }
}
