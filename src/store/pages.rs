//! The reads behind the public pages. Only practices with a public (vetted) revision are
//! returned; everything shown comes from HTML rendered at save time.

use sqlx::FromRow;

use super::sql::{Arg, query_as, query_scalar};

use super::Db;
use super::EssaInput;
use crate::domain::{Cost, Ingredient, Measure, Resource, SectionKind};

/// A practice in a list.
#[derive(Debug, Clone, FromRow)]
pub struct Card {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stage: String,
    pub vetted_on: Option<String>,
    pub grade_bands: String,
    pub team_slug: String,
    pub team_name: String,
    pub school_slug: String,
    pub school_name: String,
    pub district_name: String,
}

/// The columns of `Card`; joins `p` (practices), `r` (public revision), `t`, `s`, `d`.
const CARD: &str = r#"
    select p.slug, r.title, r.summary,
           case when p.stage = 'replicated' then p.stage else r.stage end as stage,
           p.vetted_on, r.grade_bands, t.slug as team_slug, t.name as team_name,
           s.slug as school_slug, s.name as school_name, d.name as district_name
    from practices p
    join practice_revisions r on r.id = p.public_revision_id
    join teams t on t.id = p.team_id
    join schools s on s.id = t.school_id
    join districts d on d.id = s.district_id
    where p.status <> 'archived'"#;

/// `nulls last`: SQLite's order for `desc`, which PostgreSQL would reverse; the index
/// `practices_recent` still serves it.
const CARD_ORDER: &str = " order by p.vetted_on desc nulls last, p.slug";

/// Which public practices a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Cards<'a> {
    All,
    Area(&'a str),
    Team(&'a str),
    School(&'a str),
    District(&'a str),
}

impl Cards<'_> {
    /// The condition added to `CARD` (or a query with its joins), and the value it binds
    /// (as `$1`).
    pub(super) fn clause(&self) -> (&'static str, Option<&str>) {
        match self {
            Cards::All => ("", None),
            Cards::Area(a) => (
                r#" and exists (select 1 from revision_challenge_areas rca
                     join challenge_areas a on a.id = rca.challenge_area_id
                     where rca.revision_id = r.id and a.slug = $1)"#,
                Some(a),
            ),
            Cards::Team(t) => (" and t.slug = $1", Some(t)),
            Cards::School(s) => (" and s.slug = $1", Some(s)),
            Cards::District(d) => (" and d.slug = $1", Some(d)),
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AreaRow {
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct PracticeRow {
    pub id: i64,
    pub revision_id: i64,
    pub revision_number: i64,
    pub slug: String,
    pub status: String,
    pub stage: String,
    pub published_on: Option<String>,
    pub vetted_on: Option<String>,
    pub title: String,
    pub summary: String,
    pub grade_bands: String,
    pub subjects: String,
    pub tags: String,
    pub license: Option<String>,
    pub body_html: String,
    pub essential_aspects: String,
    pub team_slug: String,
    pub team_name: String,
    pub cycle: String,
    pub aim: String,
    pub school_slug: String,
    pub school_name: String,
    pub level: String,
    pub locale: String,
    pub district_slug: String,
    pub district_name: String,
    pub start_hours: Option<f64>,
    pub weekly_hours: Option<f64>,
    pub materials_cost: Option<f64>,
    pub currency: Option<String>,
    pub staff_roles: String,
}

impl PracticeRow {
    pub fn cost(&self) -> Cost {
        Cost {
            start_hours: self.start_hours,
            weekly_hours: self.weekly_hours,
            materials: self.materials_cost,
            currency: self.currency.clone(),
            staff_roles: super::parse_list(&self.staff_roles),
        }
    }
}

impl PracticePage {
    /// Without the measures of a group below the minimum cell size — stored before the
    /// network raised its minimum — so that no public page or answer shows or counts them.
    pub fn within(mut self, min_cell: crate::domain::CellSize) -> PracticePage {
        self.measures.retain(|m| m.publishable(min_cell));
        self.essa = self.essa.within(min_cell);
        self
    }
}

/// Everything the practice page shows.
#[derive(Debug, Clone)]
pub struct PracticePage {
    pub practice: PracticeRow,
    pub areas: Vec<(String, String)>,
    pub measures: Vec<Measure>,
    pub resources: Vec<Resource>,
    /// What its ESSA level is computed from: this revision's own evidence, the adoptions'.
    pub essa: EssaInput,
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub slug: String,
    pub name: String,
    pub cycle: String,
    pub aim: String,
    pub area_slug: String,
    pub area_name: String,
    pub school_slug: String,
    pub school_name: String,
    pub district_slug: String,
    pub district_name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct SchoolRow {
    pub slug: String,
    pub name: String,
    pub level: String,
    pub locale: String,
    pub district_slug: String,
    pub district_name: String,
}

/// One line of `Db::directory`.
#[derive(Debug, Clone, FromRow)]
pub struct DirectoryRow {
    pub district_slug: String,
    pub district_name: String,
    pub school_slug: Option<String>,
    pub school_name: Option<String>,
    pub level: Option<String>,
    pub locale: Option<String>,
    pub team_slug: Option<String>,
    pub team_name: Option<String>,
}

/// A revision that is or was a practice's public one (`Db::public_revisions`).
#[derive(Debug, Clone, FromRow)]
pub struct PublicRevision {
    pub number: i64,
    pub title: String,
    pub summary: String,
    /// JSON list.
    pub essential_aspects: String,
    pub current: bool,
    pub vetted_at: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct NamedRow {
    pub slug: String,
    pub name: String,
}

impl Db {
    /// Every challenge area, in taxonomy order (counts: see `Search::catalog_counts`).
    pub async fn areas(&self) -> sqlx::Result<Vec<AreaRow>> {
        query_as("select slug, name, description from challenge_areas order by position, slug")
            .fetch_all(&self.read)
            .await
    }

    /// A page of public practices, newest vetted first.
    pub async fn cards(&self, of: Cards<'_>, limit: i64, offset: i64) -> sqlx::Result<Vec<Card>> {
        let (clause, bind) = of.clause();
        // The limit and offset follow the clause's bind, if any.
        let next = 1 + usize::from(bind.is_some());
        let sql = format!(
            "{CARD}{clause}{CARD_ORDER} limit ${next} offset ${}",
            next + 1
        );
        let query = query_as(&sql);
        let query = match bind {
            Some(value) => query.bind(value),
            None => query,
        };
        query.bind(limit).bind(offset).fetch_all(&self.read).await
    }

    /// The public practices among `slugs`, in the order given (a page the search index chose).
    pub async fn cards_in_order(&self, slugs: &[String]) -> sqlx::Result<Vec<Card>> {
        let sql = format!("{CARD} and {}", self.dialect().in_list("p.slug", "$1"));
        let mut cards: Vec<Card> = query_as(&sql)
            .bind(Arg::texts(slugs))
            .fetch_all(&self.read)
            .await?;
        cards.sort_by_key(|c| slugs.iter().position(|s| *s == c.slug));
        Ok(cards)
    }

    /// How many public practices a team, school or district has (a challenge area's count
    /// comes from the search index: counting it here would read a tenth of the catalog).
    pub async fn card_count(&self, of: Cards<'_>) -> sqlx::Result<i64> {
        let (clause, bind) = of.clause();
        let sql = format!("select count(*) from ({CARD}{clause}) as c");
        let query = query_scalar(&sql);
        match bind {
            Some(value) => query.bind(value),
            None => query,
        }
        .fetch_one(&self.read)
        .await
    }

    /// The public revision of a practice, or `None` when it has none (drafts, never vetted).
    pub async fn practice_page(&self, slug: &str) -> sqlx::Result<Option<PracticePage>> {
        self.practice_page_at(slug, None).await
    }

    /// The practice page of one revision (`None`: the public one), as a preview shows it.
    pub async fn practice_page_at(
        &self,
        slug: &str,
        revision: Option<i64>,
    ) -> sqlx::Result<Option<PracticePage>> {
        let join = if revision.is_some() {
            "r.id = $2 and r.practice_id = p.id"
        } else {
            "r.id = p.public_revision_id and $2 is null"
        };
        let row: Option<PracticeRow> = query_as(format!(
            r#"select p.id, r.id as revision_id, r.number as revision_number, p.slug, p.status,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage,
                      p.published_on, p.vetted_on, r.title, r.summary, r.grade_bands, r.subjects, r.tags,
                      r.license, r.body_html, r.essential_aspects, t.slug as team_slug, t.name as team_name, t.cycle, t.aim,
                      s.slug as school_slug, s.name as school_name, s.level, s.locale,
                      d.slug as district_slug, d.name as district_name,
                      r.start_hours, r.weekly_hours, r.materials_cost, r.currency, r.staff_roles
               from practices p
               join practice_revisions r on {join}
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.slug = $1"#
        ))
        .bind(slug)
        .bind(revision)
        .fetch_optional(&self.read)
        .await?;
        let Some(practice) = row else { return Ok(None) };
        let areas = query_as(
            r#"select a.slug, a.name from revision_challenge_areas rca
               join challenge_areas a on a.id = rca.challenge_area_id
               where rca.revision_id = $1 order by rca.position"#,
        )
        .bind(practice.revision_id)
        .fetch_all(&self.read)
        .await?;
        let measures = super::measures::by_owner(
            query_as(format!(
                "select revision_id as owner, {} from measures where revision_id = $1 order by position",
                super::measures::columns("")
            ))
            .bind(practice.revision_id)
            .fetch_all(&self.read)
            .await?,
        )
        .remove(&practice.revision_id)
        .unwrap_or_default();
        let resources = query_as::<(String, String)>(
            "select title, url from resources where revision_id = $1 order by position",
        )
        .bind(practice.revision_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(|(title, url)| Resource { title, url })
        .collect();
        // The adoptions' evidence is the practice's whatever revision is shown; a coach's
        // confirmation belongs to the public revision only.
        let public = self.essa_input(practice.id).await?;
        let logic_model: bool = query_scalar::<i64>(
            "select count(*) from revision_sections where revision_id = $1 and kind = $2",
        )
        .bind(practice.revision_id)
        .bind(SectionKind::LogicModel.key())
        .fetch_one(&self.read)
        .await?
            > 0;
        let essa = EssaInput {
            logic_model,
            confirmed: public.confirmed.filter(|_| revision.is_none()),
            own: measures
                .iter()
                .filter(|m| m.ingredient == Ingredient::StudentOutcome)
                .map(|m| (practice.school_name.clone(), m.clone()))
                .collect(),
            adopted: public.adopted,
        };
        Ok(Some(PracticePage {
            practice,
            areas,
            measures,
            resources,
            essa,
        }))
    }

    pub async fn team(&self, slug: &str) -> sqlx::Result<Option<TeamRow>> {
        query_as(
            r#"select t.slug, t.name, t.cycle, t.aim, a.slug as area_slug, a.name as area_name,
                      s.slug as school_slug, s.name as school_name, d.slug as district_slug, d.name as district_name
               from teams t join schools s on s.id = t.school_id join districts d on d.id = s.district_id
               join challenge_areas a on a.id = t.challenge_area_id
               where t.slug = $1"#,
        )
        .bind(slug)
        .fetch_optional(&self.read)
        .await
    }

    pub async fn school(&self, slug: &str) -> sqlx::Result<Option<SchoolRow>> {
        query_as(
            r#"select s.slug, s.name, s.level, s.locale, d.slug as district_slug, d.name as district_name
               from schools s join districts d on d.id = s.district_id where s.slug = $1"#,
        )
        .bind(slug)
        .fetch_optional(&self.read)
        .await
    }

    pub async fn district(&self, slug: &str) -> sqlx::Result<Option<NamedRow>> {
        query_as("select slug, name from districts where slug = $1")
            .bind(slug)
            .fetch_optional(&self.read)
            .await
    }

    pub async fn teams_of_school(&self, school: &str) -> sqlx::Result<Vec<NamedRow>> {
        query_as(
            "select t.slug, t.name from teams t join schools s on s.id = t.school_id where s.slug = $1 order by t.name",
        )
        .bind(school)
        .fetch_all(&self.read)
        .await
    }

    /// Every district, school and team, as (district, school, team) rows in name order; a
    /// district without schools or a school without teams has `None` beside it.
    pub async fn directory(&self) -> sqlx::Result<Vec<DirectoryRow>> {
        query_as(
            r#"select d.slug as district_slug, d.name as district_name, s.slug as school_slug,
                      s.name as school_name, s.level, s.locale, t.slug as team_slug, t.name as team_name
               from districts d
               left join schools s on s.district_id = d.id
               left join teams t on t.school_id = s.id
               order by d.name, d.slug, s.name, s.slug, t.name, t.slug"#,
        )
        .fetch_all(&self.read)
        .await
    }

    /// The Markdown of each section of a revision, in reading order, as (key, Markdown).
    pub async fn section_sources(&self, revision: i64) -> sqlx::Result<Vec<(String, String)>> {
        query_as(
            "select kind, markdown from revision_sections where revision_id = $1 order by position",
        )
        .bind(revision)
        .fetch_all(&self.read)
        .await
    }

    /// The revisions of a public practice that are or were public (vetted), newest first;
    /// empty when the practice has no public revision. Drafts and returned revisions never
    /// show.
    pub async fn public_revisions(&self, slug: &str) -> sqlx::Result<Vec<PublicRevision>> {
        query_as(
            r#"select r.number, r.title, r.summary, r.essential_aspects,
                      r.id = p.public_revision_id as current,
                      (select min(e.at) from practice_events e
                        where e.revision_id = r.id and e.kind = 'vetted') as vetted_at
               from practice_revisions r join practices p on p.id = r.practice_id
               where p.slug = $1 and p.public_revision_id is not null
                 and (r.id = p.public_revision_id or exists (
                      select 1 from practice_events e where e.revision_id = r.id and e.kind = 'vetted'))
               order by r.number desc"#,
        )
        .bind(slug)
        .fetch_all(&self.read)
        .await
    }

    pub async fn schools_of_district(&self, district: &str) -> sqlx::Result<Vec<SchoolRow>> {
        query_as(
            r#"select s.slug, s.name, s.level, s.locale, d.slug as district_slug, d.name as district_name
               from schools s join districts d on d.id = s.district_id where d.slug = $1 order by s.name"#,
        )
        .bind(district)
        .fetch_all(&self.read)
        .await
    }
}

/// A search hit as the results page and the API show it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct HitRow {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stage: String,
    #[serde(skip)]
    pub grade_bands: String,
    #[serde(skip)]
    pub subjects: String,
    #[serde(skip)]
    pub areas: String,
    pub team_slug: String,
    pub team: String,
    pub school_slug: String,
    pub school: String,
    pub district_slug: String,
    pub district: String,
    pub published_on: Option<String>,
    pub vetted_on: Option<String>,
    pub adoption_count: i64,
}

impl Db {
    /// The public practices among `slugs`, keyed by slug (the index may lag a moment behind
    /// an un-vetting; the database has the last word on what is public).
    pub async fn search_hits(
        &self,
        slugs: &[String],
    ) -> sqlx::Result<std::collections::HashMap<String, HitRow>> {
        let d = self.dialect();
        let rows: Vec<HitRow> = query_as(format!(
            r#"select p.slug, r.title, r.summary,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage,
                      r.grade_bands, r.subjects,
                      {areas} as areas,
                      t.slug as team_slug, t.name as team, s.slug as school_slug, s.name as school,
                      d.slug as district_slug, d.name as district, p.published_on, p.vetted_on,
                      (select count(*) from adoptions ad where ad.practice_id = p.id
                         and ad.status in ('adopted', 'adapted')) as adoption_count
               from practices p
               join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.status <> 'archived' and {slugs}"#,
            areas = d.json_array(
                "a.slug",
                "revision_challenge_areas rca join challenge_areas a on a.id = rca.challenge_area_id where rca.revision_id = r.id",
                "rca.position"
            ),
            slugs = d.in_list("p.slug", "$1"),
        ))
        .bind(Arg::texts(slugs))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| (r.slug.clone(), r)).collect())
    }

    /// Slug → name of every challenge area, in taxonomy order.
    pub async fn area_names(&self) -> sqlx::Result<Vec<(String, String)>> {
        query_as("select slug, name from challenge_areas order by position, slug")
            .fetch_all(&self.read)
            .await
    }

    /// Slug → name of every district.
    pub async fn district_names(&self) -> sqlx::Result<Vec<(String, String)>> {
        query_as("select slug, name from districts order by name")
            .fetch_all(&self.read)
            .await
    }
}
