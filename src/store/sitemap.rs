//! The reads behind `/sitemap.xml` (`web::sitemap`): every public practice with where it
//! belongs, and when each challenge area last gained or changed a public practice.

use sqlx::FromRow;
use tracing::instrument;

use super::Db;
use super::sql::query_as;

/// A public practice (vetted, not archived) as the sitemap lists it.
#[derive(Debug, Clone, FromRow)]
pub struct SitemapPractice {
    pub slug: String,
    /// The day its public revision was vetted (`2025-06-12`).
    pub vetted_on: Option<String>,
    pub team_slug: String,
    pub school_slug: String,
    pub district_slug: String,
}

impl Db {
    /// Every public practice, by slug.
    #[instrument(skip_all)]
    pub async fn sitemap_practices(&self) -> sqlx::Result<Vec<SitemapPractice>> {
        query_as(
            r#"select p.slug, p.vetted_on, t.slug as team_slug, s.slug as school_slug,
                      d.slug as district_slug
               from practices p
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.public_revision_id is not null and p.status <> 'archived'
               order by p.slug"#,
        )
        .fetch_all(&self.read)
        .await
    }

    /// Each challenge area's newest vetting among its public practices, as (area slug, day);
    /// areas without a public practice are not listed.
    #[instrument(skip_all)]
    pub async fn sitemap_area_days(&self) -> sqlx::Result<Vec<(String, Option<String>)>> {
        query_as(
            r#"select a.slug, max(p.vetted_on)
               from practices p
               join revision_challenge_areas rca on rca.revision_id = p.public_revision_id
               join challenge_areas a on a.id = rca.challenge_area_id
               where p.status <> 'archived'
               group by a.slug"#,
        )
        .fetch_all(&self.read)
        .await
    }
}
