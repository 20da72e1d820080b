//! Stored HTML follows the image policy. Revisions are rendered once, on save, under the
//! hub's `image_hosts`; when that setting changes, the revisions whose Markdown holds an
//! image are rendered again, once for the whole database, whichever instance starts first.

use std::collections::BTreeMap;

use tracing::instrument;

use super::sql::{query, query_as, query_scalar};
use super::{Db, record_change};
use crate::domain::SectionKind;

/// The `hub_keys` entry holding the fingerprint of the policy the stored HTML was rendered
/// under.
const POLICY_KEY: &str = "image_policy";

impl Db {
    /// Renders again, under this handle's image policy, every stored revision that shows an
    /// image, unless the database records that it already was. Returns how many revisions
    /// changed, or `None` when there was nothing to do.
    ///
    /// The check is repeated under the writer lock (SQLite's one writer, PostgreSQL's
    /// advisory lock across every instance), so two instances starting together render once.
    /// The changed practices go on the change feed: every instance drops its cached pages.
    #[instrument(skip_all)]
    pub async fn apply_image_policy(&self) -> anyhow::Result<Option<usize>> {
        let fingerprint = self.renderer().images().fingerprint();
        let recorded: Option<String> = query_scalar("select value from hub_keys where name = $1")
            .bind(POLICY_KEY)
            .fetch_optional(self.reader())
            .await?;
        if recorded.as_deref() == Some(fingerprint.as_str()) {
            return Ok(None);
        }
        let mut tx = self.begin_write().await?;
        let recorded: Option<String> = query_scalar("select value from hub_keys where name = $1")
            .bind(POLICY_KEY)
            .fetch_optional(&mut tx)
            .await?;
        if recorded.as_deref() == Some(fingerprint.as_str()) {
            tx.rollback().await?;
            return Ok(None);
        }
        // Only a revision with `![` or `<img` in its Markdown can show an image; the rest
        // render the same under any policy.
        let rows = query_as::<(i64, i64, String, String, String)>(
            r#"select r.id, r.practice_id, r.body_html, s.kind, s.markdown
               from practice_revisions r join revision_sections s on s.revision_id = r.id
               where r.id in (select revision_id from revision_sections
                              where markdown like '%![%' or lower(markdown) like '%<img%')
               order by r.id"#,
        )
        .fetch_all(&mut tx)
        .await?;
        let mut revisions: BTreeMap<i64, (i64, String, BTreeMap<SectionKind, String>)> =
            BTreeMap::new();
        for (id, practice, html, kind, markdown) in rows {
            let kind = SectionKind::from_key(&kind)
                .ok_or_else(|| anyhow::anyhow!("stored section {kind:?}"))?;
            revisions
                .entry(id)
                .or_insert_with(|| (practice, html, BTreeMap::new()))
                .2
                .insert(kind, markdown);
        }
        let renderer = self.renderer().clone();
        let changed: Vec<(i64, i64, String)> = tokio::task::spawn_blocking(move || {
            revisions
                .into_iter()
                .filter_map(|(id, (practice, old, sections))| {
                    let new = renderer.render_body(&sections);
                    (new != old).then_some((id, practice, new))
                })
                .collect()
        })
        .await?;
        let mut practices = std::collections::BTreeSet::new();
        for (id, practice, html) in &changed {
            query("update practice_revisions set body_html = $1 where id = $2")
                .bind(html.as_str())
                .bind(*id)
                .execute(&mut tx)
                .await?;
            practices.insert(*practice);
        }
        for practice in &practices {
            record_change(&mut tx, *practice, "practice").await?;
        }
        query(
            r#"insert into hub_keys (name, value) values ($1, $2)
               on conflict (name) do update set value = excluded.value"#,
        )
        .bind(POLICY_KEY)
        .bind(fingerprint.as_str())
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            revisions = changed.len(),
            practices = practices.len(),
            "stored HTML rendered again under the image policy"
        );
        Ok(Some(changed.len()))
    }
}
