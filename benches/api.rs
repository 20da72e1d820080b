//! The open API at scale (issue 17): `cargo bench --bench api` (size: `-- 100000`, the
//! default; `BENCH_KEEP=DIR` keeps the generated database in `DIR/<n>-api` and reuses it).
//!
//! It generates a catalog (seed 42), imports it into SQLite, builds the index, starts the hub
//! on a loopback port (`AppState` and the router, rate limits set out of the way) and measures:
//!
//! 1. requests/s over HTTP from `BENCH_CLIENTS` (8) keep-alive clients for `BENCH_SECS` (5)
//!    each: `/healthz`, `/api/v1/practices/{slug}` for one practice, and for 1,000 practices
//!    in turn; each as a ratio to `/healthz` in the same run;
//! 2. the reading pages (1,000 practice pages in turn, anonymous) alone, and while 16 more
//!    clients flood the API with a token (uncached lists, a different query each): the
//!    flood's token runs out of its allowance at once and is answered 429 from then on;
//! 3. the work behind one page of `/api/v1/practices` (the list pass over the index and the
//!    rows from the database, what the answer cache saves a repeat from): the first page
//!    against a page deep in the catalog (its cursor 99 % of the way), with and without a
//!    filter, p50 and p99 of `BENCH_RUNS` (200) each.
//!
//! `cargo test` runs it on a tiny catalog: the harness works end to end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use brightspots::config::Settings;
use brightspots::generate;
use brightspots::search::{Facet, UserQuery};
use brightspots::store::{Db, import_catalog, sql};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(if benching { 100_000 } else { 300 });
    let (secs, runs) = if benching {
        (env("BENCH_SECS", 5u64), env("BENCH_RUNS", 200usize))
    } else {
        (1, 5)
    };
    let clients: usize = env("BENCH_CLIENTS", 8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let temp = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("BENCH_KEEP").map_or(temp.path().to_path_buf(), |d| {
            std::path::PathBuf::from(d).join(format!("{n}-api"))
        });
        std::fs::create_dir_all(&dir).unwrap();
        let db_path = dir.join("bench.db");
        let url = format!("sqlite:{}", db_path.display());
        if !db_path.exists() {
            let db = Db::connect(&url).await.unwrap();
            let started = Instant::now();
            import_catalog(&db, &generate::catalog(n, 42)).await.unwrap();
            println!("imported {n} practices in {:.1} s", started.elapsed().as_secs_f64());
            db.close().await;
        }
        let mut settings = Settings {
            database_url: url.clone().into(),
            index_dir: dir.join("index"),
            content_dir: dir.join("no-content"),
            ..Settings::default()
        };
        // Every client is on this machine's one address: only the token's limit (the default)
        // and the cap on requests at once (also the default) apply.
        settings.api.per_address_per_minute = u32::MAX;
        let db = Db::connect(&url).await.unwrap();
        let state = brightspots::AppState::start(db.clone(), settings).unwrap();
        let started = Instant::now();
        let head = db.feed_head().await.unwrap();
        while !(state.search.ready() && state.search.caught_up(head)) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!("index ready in {:.1} s", started.elapsed().as_secs_f64());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = brightspots::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let slugs: Vec<String> =
            sql::query_scalar("select slug from practices where public_revision_id is not null order by id limit 1000")
                .fetch_all(db.reader())
                .await
                .unwrap();

        // 1. Requests per second over HTTP.
        let rate = |paths: Arc<Vec<String>>| {
            let base = base.clone();
            async move {
                let done = Arc::new(AtomicU64::new(0));
                let deadline = Instant::now() + Duration::from_secs(secs);
                let mut tasks = Vec::new();
                for c in 0..clients {
                    let (paths, done, base) = (paths.clone(), done.clone(), base.clone());
                    tasks.push(tokio::spawn(async move {
                        let client = reqwest::Client::new();
                        let mut i = c;
                        while Instant::now() < deadline {
                            let r = client
                                .get(format!("{base}{}", paths[i % paths.len()]))
                                .send()
                                .await
                                .unwrap();
                            assert!(r.status().is_success(), "{}", r.status());
                            r.bytes().await.unwrap();
                            done.fetch_add(1, Ordering::Relaxed);
                            i += clients;
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                done.load(Ordering::Relaxed) as f64 / secs as f64
            }
        };
        let one = Arc::new(vec![format!("/api/v1/practices/{}", slugs[0])]);
        let many = Arc::new(
            slugs
                .iter()
                .map(|s| format!("/api/v1/practices/{s}"))
                .collect::<Vec<_>>(),
        );
        // Warm: every answer made once, as a polling client finds them.
        rate(many.clone()).await;
        let healthz = rate(Arc::new(vec!["/healthz".into()])).await;
        let single = rate(one).await;
        let rotating = rate(many).await;
        println!("\n| {n} practices, {clients} clients | requests/s | ratio to /healthz |");
        println!("|---|---:|---:|");
        println!("| `/healthz` | {healthz:.0} | 1.00 |");
        println!(
            "| `/api/v1/practices/{{slug}}`, one practice | {single:.0} | {:.2} |",
            single / healthz
        );
        println!(
            "| `/api/v1/practices/{{slug}}`, 1,000 practices in turn | {rotating:.0} | {:.2} |",
            rotating / healthz
        );

        // 2. The reading pages, alone and while a token floods the API.
        let pages = Arc::new(slugs.iter().map(|s| format!("/practices/{s}")).collect::<Vec<_>>());
        rate(pages.clone()).await;
        let alone = rate(pages.clone()).await;
        // A person and token of their own on every run (a kept database has the last ones).
        let run = brightspots::auth::random_token();
        let user = db
            .create_person(&format!("flood-{run}@example.org"), "Flood")
            .await
            .unwrap();
        let token: &'static str = Box::leak(format!("bsp_{run}").into_boxed_str());
        let (hash, prefix) = (brightspots::auth::hash_token(token), "bsp_");
        db.create_token(&brightspots::store::NewToken {
            user,
            name: "flood",
            hash: &hash,
            prefix,
            scopes: "read",
            created_at: brightspots::auth::now(),
            expires_at: None,
        })
        .await
        .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (refused, served) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut flood = Vec::new();
        for c in 0..16u64 {
            let (stop, refused, served, base) = (stop.clone(), refused.clone(), served.clone(), base.clone());
            flood.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let r = client
                        .get(format!("{base}/api/v1/practices?q=word{i}&limit=100"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap();
                    let counter = if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS { &refused } else { &served };
                    counter.fetch_add(1, Ordering::Relaxed);
                    r.bytes().await.unwrap();
                    i += 16;
                }
            }));
        }
        let flooded = rate(pages).await;
        stop.store(true, Ordering::Relaxed);
        for t in flood {
            t.await.unwrap();
        }
        println!("\n| {n} practices, {clients} clients on the pages | requests/s | ratio |");
        println!("|---|---:|---:|");
        println!("| `/practices/{{slug}}`, 1,000 in turn, alone | {alone:.0} | 1.00 |");
        println!(
            "| the same while 16 clients flood the API with one token ({} answered, {} refused 429) | {flooded:.0} | {:.2} |",
            served.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed),
            flooded / alone
        );

        // 3. One page of the list: the first, and one 99 % deep.
        let ids: Vec<i64> = sql::query_scalar(
            "select id from practices where public_revision_id is not null and status <> 'archived' order by id",
        )
        .fetch_all(db.reader())
        .await
        .unwrap();
        // 99 % of the way down the list (newest first), with a full page still after it.
        let deep = ids[(ids.len() / 100 + 100).min(ids.len() - 1)] as u64;
        let area: String = sql::query_scalar("select slug from challenge_areas order by position limit 1")
            .fetch_one(db.reader())
            .await
            .unwrap();
        let none = BTreeMap::new();
        let filtered = BTreeMap::from([(Facet::Challenge, BTreeSet::from([area.clone()]))]);
        println!("\n| {n} practices, page of 100 | p50 ms | p99 ms | practices |");
        println!("|---|---:|---:|---:|");
        for (label, filters, cursor) in [
            ("first page", &none, None),
            ("99 % deep", &none, Some(deep)),
            ("first page, one challenge area", &filtered, None),
            ("99 % deep, one challenge area", &filtered, Some(deep)),
        ] {
            let mut took = Vec::with_capacity(runs);
            let mut shown = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let search = state.search.clone();
                let f = filters.clone();
                let listed = tokio::task::spawn_blocking(move || {
                    search.list(&UserQuery::parse(""), &f, cursor, 100).unwrap()
                })
                .await
                .unwrap();
                let page: Vec<String> = listed.practices.iter().map(|(_, s)| s.clone()).collect();
                let rows = db.search_hits(&page).await.unwrap();
                took.push(started.elapsed().as_secs_f64() * 1000.0);
                shown = rows.len();
            }
            took.sort_by(f64::total_cmp);
            println!(
                "| {label} | {:.2} | {:.2} | {shown} |",
                percentile(&took, 0.5),
                percentile(&took, 0.99)
            );
        }
        state.shutdown().await;
    });
}
