//! The change feed under concurrent writers. On PostgreSQL a `seq` is taken before commit, so
//! rows become visible out of `seq` order; these tests drive two raw transactions into the
//! orders that would make a naive reader skip a row for ever, and check that the feed
//! withholds rows until they can no longer be overtaken, then delivers every one. Then many
//! unlocked writers through two instances: each index ends equal to the database.
//! (Written against a `seq`-only cursor and against a feed without the horizon filter: each
//! of the first two tests fails on one of them.)

use std::time::Duration;

use brightspots::store::{Db, Dialect, FeedPos, sql};
use sqlx::{Connection, PgConnection};

use crate::helpers::{TestApp, fresh_database_url};

/// A PostgreSQL database of its own and a raw connection factory; None on SQLite, whose one
/// writer commits in `seq` order.
async fn postgres() -> Option<(tempfile::TempDir, String, Db)> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let db = Db::connect(&url).await.unwrap();
    (db.dialect() == Dialect::Postgres).then_some((dir, url, db))
}

async fn begin(url: &str) -> PgConnection {
    let mut c = PgConnection::connect(url).await.unwrap();
    sqlx::query("begin").execute(&mut c).await.unwrap();
    // Take a transaction id now, as a transaction that has written elsewhere has.
    sqlx::query("select pg_current_xact_id()")
        .execute(&mut c)
        .await
        .unwrap();
    c
}

async fn change(c: &mut PgConnection, kind: &str) -> i64 {
    sqlx::query_scalar("insert into changes (practice_id, kind) values (null, $1) returning seq")
        .bind(kind)
        .fetch_one(&mut *c)
        .await
        .unwrap()
}

async fn commit(mut c: PgConnection) {
    sqlx::query("commit").execute(&mut c).await.unwrap();
}

async fn read(db: &Db, after: FeedPos) -> Vec<(FeedPos, String)> {
    db.changes_after(after, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.pos, c.kind))
        .collect()
}

/// Reads until `n` rows come: the horizon is the whole server's, so transactions of tests
/// running beside this one in other databases may hold it back for a moment.
async fn read_some(db: &Db, after: FeedPos, n: usize) -> Vec<(FeedPos, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = read(db, after).await;
        if rows.len() >= n || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kinds(rows: &[(FeedPos, String)]) -> Vec<&str> {
    rows.iter().map(|(_, k)| k.as_str()).collect()
}

/// An older transaction writes a larger `seq` and commits first; a newer one wrote a smaller
/// `seq` and commits after. A reader that moved its cursor to the larger `seq` would never
/// see the smaller.
#[tokio::test]
async fn a_smaller_seq_committed_later_is_delivered() {
    let Some((_dir, url, db)) = postgres().await else {
        return;
    };
    let older = begin(&url).await;
    let mut newer = begin(&url).await;
    let small = change(&mut newer, "newer").await;
    let mut older = older;
    let large = change(&mut older, "older").await;
    assert!(small < large);
    commit(older).await;

    let first = read_some(&db, FeedPos::default(), 1).await;
    assert_eq!(kinds(&first), ["older"]);
    let cursor = first.last().unwrap().0;
    commit(newer).await;
    let second = read_some(&db, cursor, 1).await;
    assert_eq!(
        kinds(&second),
        ["newer"],
        "the smaller seq, committed later"
    );
}

/// An older transaction stays open while a newer one commits: the newer row is withheld
/// until the older commits, since the older one's row would sort before it.
#[tokio::test]
async fn rows_wait_behind_an_older_open_transaction() {
    let Some((_dir, url, db)) = postgres().await else {
        return;
    };
    let mut older = begin(&url).await;
    let mut newer = begin(&url).await;
    change(&mut newer, "newer").await;
    commit(newer).await;
    assert!(
        read(&db, FeedPos::default()).await.is_empty(),
        "nothing may pass an open older transaction"
    );
    // What the indexer logs when it has not moved for a while: who holds the feed back.
    let why = db
        .feed_held_back(FeedPos::default())
        .await
        .unwrap()
        .unwrap();
    assert!(
        why.starts_with("1 change(s) wait for an older transaction"),
        "{why}"
    );
    assert!(why.contains("pid"), "{why}");
    change(&mut older, "older").await;
    commit(older).await;
    let rows = read_some(&db, FeedPos::default(), 2).await;
    assert_eq!(kinds(&rows), ["older", "newer"]);
    let positions: Vec<FeedPos> = rows.iter().map(|r| r.0).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
}

/// Many writers without the hub's writer lock, each holding its change open for a random
/// moment, through two instances: afterwards both indexes hold exactly the public practices.
#[tokio::test]
async fn interleaved_writers_leave_every_index_equal_to_the_database() {
    let a = TestApp::seeded().await;
    let b = a.second_instance().await;
    if a.state.db.dialect() != Dialect::Postgres {
        return;
    }
    let url = a.db_url();
    let ids: Vec<i64> = sql::query_scalar("select id from practices order by id")
        .fetch_all(a.state.db.reader())
        .await
        .unwrap();
    let mut writers = Vec::new();
    for (n, id) in ids.iter().copied().cycle().take(60).enumerate() {
        let url = url.clone();
        writers.push(tokio::spawn(async move {
            let mut c = PgConnection::connect(&url).await.unwrap();
            sqlx::query("begin").execute(&mut c).await.unwrap();
            change(&mut c, "practice").await;
            let pause = (n * 7919 % 23) as f64 / 1000.0;
            sqlx::query("select pg_sleep($1)")
                .bind(pause)
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query(
                "update practices set status = case when status = 'archived' then 'vetted' else 'archived' end where id = $1",
            )
            .bind(id)
            .execute(&mut c)
            .await
            .unwrap();
            // The change row was inserted first, so its `seq` is older than its commit.
            sqlx::query("update changes set practice_id = $1 where seq = (select max(seq) from changes where practice_id is null and kind = 'practice' and xid = pg_current_xact_id()::text::bigint)")
                .bind(id)
                .execute(&mut c)
                .await
                .unwrap();
            commit(c).await;
        }));
        if n % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let public: Vec<String> = sql::query_scalar(
        "select slug from practices where public_revision_id is not null and status <> 'archived' order by slug",
    )
    .fetch_all(a.state.db.reader())
    .await
    .unwrap();
    for app in [&a, &b] {
        let (_, body) = app.get("/api/v1/search?q=&per_page=100").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut found: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["slug"].as_str().unwrap().to_string())
            .collect();
        found.sort();
        assert_eq!(found, public);
        assert_eq!(app.state.search.num_docs() as usize, public.len());
    }
}
