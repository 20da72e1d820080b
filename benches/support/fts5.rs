//! The baseline to beat: what a team would build first — SQLite FTS5 over the same public
//! practices, with bm25 ranking (the same field weights), `snippet()` highlights, a total
//! count and facet counts from a facet table, answering the same requests.

use brightspots::search::{Facet, SearchRequest, Sort};
use brightspots::store::Db;
use sqlx::Row;

/// Builds the FTS5 table and the facet table in the bench database (once per database).
pub async fn prepare(db: &Db, url: &str) {
    let done: i64 =
        sqlx::query_scalar("select count(*) from sqlite_master where name = 'bench_fts'")
            .fetch_one(
                db.reader()
                    .as_sqlite()
                    .expect("the FTS5 baseline runs on SQLite"),
            )
            .await
            .unwrap();
    if done > 0 {
        return;
    }
    // A plain read-write connection: the app's writer pool is private.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    for sql in [
        "create virtual table bench_fts using fts5(title, summary, aspects, body, tokenize = 'porter unicode61 remove_diacritics 2')",
        r#"insert into bench_fts (rowid, title, summary, aspects, body)
           select p.id, r.title, r.summary,
             coalesce((select group_concat(markdown, ' ') from revision_sections s where s.revision_id = r.id
                        and s.kind in ('essential-aspects', 'necessary-conditions')), ''),
             coalesce((select group_concat(markdown, ' ') from revision_sections s where s.revision_id = r.id
                        and s.kind not in ('essential-aspects', 'necessary-conditions')), '')
           from practices p join practice_revisions r on r.id = p.public_revision_id
           where p.status <> 'archived'"#,
        "create table bench_facets (practice_id integer not null, facet text not null)",
        r#"insert into bench_facets
           select p.id, 'challenge/' || a.slug from practices p
             join revision_challenge_areas rca on rca.revision_id = p.public_revision_id
             join challenge_areas a on a.id = rca.challenge_area_id where p.status <> 'archived'
           union all select p.id, 'grade/' || g.value from practices p
             join practice_revisions r on r.id = p.public_revision_id, json_each(r.grade_bands) g where p.status <> 'archived'
           union all select p.id, 'subject/' || s.value from practices p
             join practice_revisions r on r.id = p.public_revision_id, json_each(r.subjects) s where p.status <> 'archived'
           union all select p.id, 'stage/' || r.stage from practices p
             join practice_revisions r on r.id = p.public_revision_id where p.status <> 'archived'
           union all select p.id, 'district/' || d.slug from practices p join teams t on t.id = p.team_id
             join schools s on s.id = t.school_id join districts d on d.id = s.district_id
             where p.public_revision_id is not null and p.status <> 'archived'
           union all select p.id, 'level/' || s.level from practices p join teams t on t.id = p.team_id
             join schools s on s.id = t.school_id where p.public_revision_id is not null and p.status <> 'archived'
           union all select p.id, 'locale/' || s.locale from practices p join teams t on t.id = p.team_id
             join schools s on s.id = t.school_id where p.public_revision_id is not null and p.status <> 'archived'"#,
        "create index bench_facets_practice on bench_facets (practice_id, facet)",
        "create index bench_facets_facet on bench_facets (facet, practice_id)",
        "insert into bench_fts (bench_fts) values ('optimize')",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

/// The education vocabulary as a team on FTS5 would apply it: a query that is one of a
/// group's forms searches every form of the group.
fn forms(query: &str) -> Option<Vec<String>> {
    include_str!("../../data/synonyms.txt")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            l.split(',')
                .map(|m| m.trim().to_string())
                .collect::<Vec<_>>()
        })
        .find(|members| members.iter().any(|m| m == query))
}

/// The FTS5 MATCH expression of a request: words OR'ed, phrases quoted, and a query that is
/// a synonym expanded to its group. (FTS5 has no typo tolerance: the bench hands it the
/// corrected query.)
fn match_expr(req: &SearchRequest) -> Option<String> {
    let words = req.query.words.join(" ");
    let mut parts: Vec<String> = match forms(&words) {
        Some(forms) => forms,
        None => req.query.words.clone(),
    }
    .iter()
    .map(|w| format!("\"{}\"", w.replace('"', "")))
    .collect();
    parts.extend(
        req.query
            .phrases
            .iter()
            .map(|p| format!("\"{}\"", p.replace('"', ""))),
    );
    (!parts.is_empty()).then(|| parts.join(" OR "))
}

/// The facet filters as SQL over `id`: one `in (…)` per facet (OR within, AND across).
fn filter_sql(req: &SearchRequest) -> String {
    req.filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(facet, values)| {
            let list: Vec<String> = values
                .iter()
                .map(|v| format!("'{}/{}'", facet.param(), v.replace('\'', "")))
                .collect();
            format!(
                " and id in (select practice_id from bench_facets where facet in ({}))",
                list.join(", ")
            )
        })
        .collect()
}

const ADOPTED: &str = "(select count(*) from adoptions a where a.practice_id = p.id and a.status in ('adopted', 'adapted')) desc";

/// Answers one request: the total, a page of hits with snippets, and facet counts (a
/// selected facet counted without its own filter, as Bright Spots does). Returns the total.
pub async fn search(db: &Db, req: &SearchRequest) -> u64 {
    let matched = match match_expr(req) {
        Some(m) => format!(
            "select rowid as id, bm25(bench_fts, 4.0, 2.0, 1.5, 1.0) as rank from bench_fts where bench_fts match '{}'",
            m.replace('\'', "''")
        ),
        None => "select id, 0.0 as rank from practices where public_revision_id is not null and status <> 'archived'".into(),
    };
    let filters = filter_sql(req);
    let total: i64 = sqlx::query_scalar(&format!(
        "select count(*) from ({matched}) where 1 {filters}"
    ))
    .fetch_one(
        db.reader()
            .as_sqlite()
            .expect("the FTS5 baseline runs on SQLite"),
    )
    .await
    .unwrap();
    let offset = (req.page.max(1) - 1) * req.per_page;
    let rows =
        match match_expr(req) {
            Some(m) => {
                let order = match req.sort {
                    // The baseline has no school profiles: like-mine falls back to relevance.
                    Sort::Relevance | Sort::LikeMine => "bm25(bench_fts, 4.0, 2.0, 1.5, 1.0)",
                    Sort::Newest => "p.vetted_on desc",
                    Sort::MostAdopted => ADOPTED,
                };
                sqlx::query(&format!(
                r#"select p.slug, snippet(bench_fts, -1, '<mark>', '</mark>', '…', 32) as snippet
                   from bench_fts join practices p on p.id = bench_fts.rowid
                   where bench_fts match ?1 {} order by {order} limit {} offset {offset}"#,
                filters.replace(" and id in", " and bench_fts.rowid in"),
                req.per_page,
            ))
            .bind(m)
            .fetch_all(db.reader().as_sqlite().expect("the FTS5 baseline runs on SQLite"))
            .await
            .unwrap()
            }
            None => {
                let order = match req.sort {
                    Sort::MostAdopted => ADOPTED,
                    _ => "p.vetted_on desc",
                };
                sqlx::query(&format!(
                    r#"select p.slug, r.summary as snippet from practices p
                   join practice_revisions r on r.id = p.public_revision_id
                   where p.status <> 'archived' {} order by {order} limit {} offset {offset}"#,
                    filters.replace(" and id in", " and p.id in"),
                    req.per_page,
                ))
                .fetch_all(
                    db.reader()
                        .as_sqlite()
                        .expect("the FTS5 baseline runs on SQLite"),
                )
                .await
                .unwrap()
            }
        };
    assert!(rows.len() <= req.per_page);
    let _ = rows.first().map(|r| r.get::<String, _>(0));
    // Facet counts: unselected facets under every filter; each selected facet without its own.
    let selected: Vec<Facet> = req
        .filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(f, _)| *f)
        .collect();
    let _all: Vec<(String, i64)> = sqlx::query_as(&format!(
        "select f.facet, count(*) from bench_facets f where f.practice_id in (select id from ({matched}) where 1 {filters}) group by f.facet"
    ))
    .fetch_all(db.reader().as_sqlite().expect("the FTS5 baseline runs on SQLite"))
    .await
    .unwrap();
    for facet in selected {
        let mut without = req.clone();
        without.filters.remove(&facet);
        let others = filter_sql(&without);
        let _one: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select f.facet, count(*) from bench_facets f where f.facet like '{}/%' and f.practice_id in (select id from ({matched}) where 1 {others}) group by f.facet",
            facet.param()
        ))
        .fetch_all(db.reader().as_sqlite().expect("the FTS5 baseline runs on SQLite"))
        .await
        .unwrap();
    }
    total as u64
}
