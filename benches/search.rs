//! Search at scale: `cargo bench --bench search` (sizes: `-- 10000 100000`, the default).
//!
//! For each size it generates a catalog (deterministic), imports it into a temp SQLite
//! database, rebuilds the index from the database (timed), then times the search function
//! itself — query, facet counts and snippets, as `/api/v1/search` runs it — by query type.
//! `cargo test` runs it too, on a tiny catalog with few runs: the harness works end to end.
//!
//! Then the queries teachers type (issue 20): a few hundred distinct natural queries of two to
//! six words (`natural_queries`), cache off, one at a time and from 8 threads at once, cache
//! on, and where a query's time goes, stage by stage (`Search::stage_times`, plus the rows
//! the page reads from the database and the JSON). `BENCH_ONLY=natural` runs only the query
//! types whose name has that text, and leaves the kept database as it was (no
//! write-to-visible practices are added).

use std::time::{Duration, Instant};

use brightspots::generate::{self, Rng, Words};
use brightspots::search::{Facet, Search, SearchRequest, Sort, UserQuery, is_stop_word};
use brightspots::store::{Db, import_catalog};

/// Timed searches per query type: 1,000 under `cargo bench`, 20 under `cargo test`.
static RUNS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn runs() -> usize {
    *RUNS.get().expect("set in main")
}

/// The baseline is far slower; fewer runs keep the bench short (100 at 10,000 practices,
/// 20 at 100,000).
fn fts_runs(n: usize) -> usize {
    if n >= 100_000 { 20 } else { 100.min(runs()) }
}

#[path = "support/fts5.rs"]
mod fts5;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    // `cargo bench` passes --bench; `cargo test` runs the harness on a tiny catalog.
    let benching = std::env::args().any(|a| a == "--bench");
    RUNS.set(if benching { 1000 } else { 20 }).unwrap();
    let sizes = match (sizes.is_empty(), benching) {
        (false, _) => sizes,
        (true, true) => vec![10_000, 100_000],
        (true, false) => vec![300],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| practices | query type | p50 ms | p99 ms | mean hits | FTS5 p50 ms | FTS5 p99 ms | FTS5 mean hits | p50 ratio BS/FTS5 |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut setup = Vec::new();
    let mut writes = Vec::new();
    let mut natural_report = Vec::new();
    for n in sizes {
        // BENCH_KEEP=DIR keeps the generated database in DIR/<n> and reuses it next time
        // (the import is the slow part of a run); the index is always rebuilt.
        let temp = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("BENCH_KEEP").map_or(temp.path().to_path_buf(), |d| {
            std::path::PathBuf::from(d).join(n.to_string())
        });
        std::fs::create_dir_all(&dir).unwrap();
        let db_path = dir.join("bench.db");
        let reuse = db_path.exists();
        let url = format!("sqlite:{}", db_path.display());
        let index_dir = dir.join("index");
        // BENCH_KEEP_INDEX=1 reuses a kept index too (for profiling the queries alone).
        let keep_index = reuse
            && std::env::var_os("BENCH_KEEP_INDEX").is_some()
            && index_dir.join("meta.json").exists();
        if !keep_index {
            let _ = std::fs::remove_dir_all(&index_dir);
        }
        let (import, rebuild, search) = rt.block_on(async {
            let db = Db::connect(&url).await.unwrap();
            let started = Instant::now();
            if !reuse {
                import_catalog(&db, &generate::catalog(n, 42))
                    .await
                    .unwrap();
            }
            let import = started.elapsed();
            let started = Instant::now();
            if !keep_index {
                brightspots::search::rebuild_offline(&index_dir, db.clone(), |_, _| {})
                    .await
                    .unwrap();
            }
            let rebuild = started.elapsed();
            let head = db.feed_head().await.unwrap();
            // BENCH_NO_FTS=1 skips the baseline (at 1,000,000 practices it takes hours).
            if std::env::var_os("BENCH_NO_FTS").is_none() {
                fts5::prepare(&db, &url).await;
            }
            let search = Search::start(&index_dir, db).unwrap();
            // A kept index from another schema version is rebuilt by the indexer: wait for it.
            while !search.caught_up(head) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            (import, rebuild, search)
        });
        let size = dir_size(&index_dir);
        let import = if reuse {
            "(reused)".to_string()
        } else {
            format!(
                "{:.1} s ({:.0} practices/s)",
                import.as_secs_f64(),
                n as f64 / import.as_secs_f64()
            )
        };
        setup.push(format!(
            "| {n} | {import} | {:.1} s | {:.0} MB |",
            rebuild.as_secs_f64(),
            size as f64 / 1e6
        ));
        let fts_db = rt.block_on(Db::connect(&url)).unwrap();
        let only = std::env::var("BENCH_ONLY").ok();
        let mut types = query_types();
        types.push(("natural queries", natural_queries()));
        types.retain(|(name, _)| only.as_deref().is_none_or(|o| name.contains(o)));
        if types.iter().any(|(name, _)| *name == "natural queries") {
            natural_report.push(natural(&rt, &search, &fts_db, n));
        }
        for (name, requests) in types {
            let mut times = Vec::with_capacity(runs());
            let mut slowest = Vec::with_capacity(runs());
            let mut hits = 0;
            for i in 0..runs() {
                let req = &requests[i % requests.len()];
                let started = Instant::now();
                let r = search.search_uncached(req).unwrap();
                times.push(started.elapsed());
                slowest.push((started.elapsed(), i % requests.len()));
                hits += r.total;
            }
            times.sort();
            // BENCH_SLOWEST=1: which requests make the tail (to stderr, for profiling).
            if std::env::var_os("BENCH_SLOWEST").is_some() {
                slowest.sort();
                for (t, i) in slowest.iter().rev().take(12) {
                    let r = &requests[*i];
                    eprintln!(
                        "{name}: {:.1} ms {:?} page {}",
                        t.as_secs_f64() * 1e3,
                        r.query.normalized,
                        r.page
                    );
                }
            }
            // The same requests through the FTS5 baseline. It cannot correct typos: it gets
            // the corrected query (the correction untimed, in its favour).
            let skip_fts = std::env::var_os("BENCH_NO_FTS").is_some();
            let requests: Vec<SearchRequest> = requests
                .iter()
                .map(|req| {
                    let mut req = req.clone();
                    if !skip_fts && let Some(fix) = search.search_uncached(&req).unwrap().suggestion
                    {
                        req.query = UserQuery::parse(&fix);
                    }
                    req
                })
                .collect();
            let (fts_times, fts_hits) = rt.block_on(async {
                if skip_fts {
                    return (vec![Duration::ZERO], 0);
                }
                let mut times = Vec::with_capacity(fts_runs(n));
                let mut hits = 0;
                for i in 0..fts_runs(n) {
                    let req = &requests[i % requests.len()];
                    let started = Instant::now();
                    hits += fts5::search(&fts_db, req).await;
                    times.push(started.elapsed());
                }
                times.sort();
                (times, hits)
            });
            println!(
                "| {n} | {name} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} | {:.2} |",
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                hits / runs() as u64,
                percentile(&fts_times, 0.5),
                percentile(&fts_times, 0.99),
                fts_hits / fts_runs(n) as u64,
                percentile(&times, 0.5) / percentile(&fts_times, 0.5)
            );
        }
        if only.is_some() {
            rt.block_on(search.shutdown());
            continue;
        }
        // Write-to-visible: a newly vetted practice, from the write's commit to the first
        // search that finds it (the writer wakes the indexer, as the web handlers will).
        let mut visible = rt.block_on(async {
            let db = Db::connect(&url).await.unwrap();
            let mut times = Vec::new();
            // A nonce keeps the practices new when a kept database is reused.
            let run = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            for k in 0..runs().min(40) as u64 {
                let mut one = generate::catalog(1, 1000 + k);
                let p = &mut one.practices[0];
                p.slug = brightspots::domain::Slug::parse(&format!("visible-{run}-{k}")).unwrap();
                p.title = format!("Zqxvisible{run}x{k} routine");
                p.status = brightspots::domain::Status::Vetted;
                p.published_on = time::Date::from_calendar_date(2026, time::Month::May, 4).ok();
                p.vetted_on = p.published_on;
                let only = brightspots::content::Catalog {
                    practices: one.practices,
                    ..Default::default()
                };
                import_catalog(&db, &only).await.unwrap();
                let written = Instant::now();
                search.wake();
                let req = request(&format!("zqxvisible{run}x{k}"));
                while search.search(&req).unwrap().total == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                times.push(written.elapsed());
            }
            times
        });
        visible.sort();
        writes.push(format!(
            "| {n} | {:.0} ms | {:.0} ms | {:.0} ms |",
            percentile(&visible, 0.5),
            percentile(&visible, 0.95),
            percentile(&visible, 0.99)
        ));
        rt.block_on(search.shutdown());
    }
    println!("\n| practices | import | full rebuild | index size |\n|---:|---:|---:|---:|");
    for line in setup {
        println!("{line}");
    }
    println!("\n| practices | write-to-visible p50 | p95 | p99 |\n|---:|---:|---:|---:|");
    for line in writes {
        println!("{line}");
    }
    for report in natural_report {
        println!("\n{report}");
    }
}

/// The natural queries, in-process: one at a time and 8 at once (cache off), cache on, and
/// the time of each stage. Returns the report's tables.
fn natural(rt: &tokio::runtime::Runtime, search: &Search, db: &Db, n: usize) -> String {
    let requests = natural_queries();
    let rounds = runs().div_ceil(requests.len());
    let mut out = String::new();
    // One at a time, cache off.
    let mut alone = Vec::new();
    let mut hits = 0;
    let mut suggested = 0;
    for _ in 0..rounds {
        for req in &requests {
            let started = Instant::now();
            let r = search.search_uncached(req).unwrap();
            alone.push(started.elapsed());
            hits += r.total;
            suggested += usize::from(r.suggestion.is_some());
        }
    }
    let count = alone.len();
    alone.sort();
    // 8 threads at once, cache off: each takes every 8th query.
    let threads = 8;
    let mut together: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let requests = &requests;
                s.spawn(move || {
                    let mut times = Vec::new();
                    for _ in 0..rounds {
                        for req in requests.iter().skip(t).step_by(threads) {
                            let started = Instant::now();
                            search.search_uncached(req).unwrap();
                            times.push(started.elapsed());
                        }
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    together.sort();
    let started = Instant::now();
    let mut done = 0;
    std::thread::scope(|s| {
        for t in 0..threads {
            let requests = &requests;
            s.spawn(move || {
                for req in requests.iter().skip(t).step_by(threads) {
                    search.search_uncached(req).unwrap();
                }
            });
        }
    });
    done += requests.len();
    let per_second = done as f64 / started.elapsed().as_secs_f64();
    // Cache on: the first round fills it, the others are answered from it.
    let mut cached = Vec::new();
    for _ in 0..rounds {
        for req in &requests {
            let started = Instant::now();
            search.search(req).unwrap();
            cached.push(started.elapsed());
        }
    }
    cached.sort();
    out.push_str(&format!(
        "natural queries at {n} practices: {} distinct, {count} searches, mean hits {}, {} with a suggestion\n\n",
        requests.len(),
        hits / count as u64,
        suggested / rounds,
    ));
    out.push_str("| practices | how | p50 ms | p99 ms |\n|---:|---|---:|---:|\n");
    for (how, times) in [
        ("one at a time, cache off", &alone),
        ("8 threads at once, cache off", &together),
        ("one at a time, cache on", &cached),
    ] {
        out.push_str(&format!(
            "| {n} | {how} | {:.2} | {:.2} |\n",
            percentile(times, 0.5),
            percentile(times, 0.99)
        ));
    }
    out.push_str(&format!(
        "\n8 threads at once, cache off: {per_second:.0} searches/s\n\n"
    ));
    // Stage by stage, each query once (after the runs above: warm).
    let mut stages: Vec<(&'static str, Vec<Duration>)> = Vec::new();
    let mut add = |name: &'static str, d: Duration| match stages.iter_mut().find(|s| s.0 == name) {
        Some(s) => s.1.push(d),
        None => stages.push((name, vec![d])),
    };
    for req in &requests {
        let started = Instant::now();
        let parsed = UserQuery::parse(&req.query.normalized);
        add("parse", started.elapsed());
        assert_eq!(parsed, req.query);
        for (name, d) in search.stage_times(req).unwrap() {
            add(name, d);
        }
        let started = Instant::now();
        let results = search.search_uncached(req).unwrap();
        add("whole search (search_uncached)", started.elapsed());
        let slugs: Vec<String> = results.hits.iter().map(|h| h.slug.clone()).collect();
        let started = Instant::now();
        let rows = rt.block_on(db.search_hits(&slugs)).unwrap();
        add("rows of hits (database, row cache off)", started.elapsed());
        let started = Instant::now();
        let json = serde_json::to_string(&serde_json::json!({
            "query": req.query.normalized,
            "total": results.total,
            "hits": results.hits.iter().map(|h| serde_json::json!({
                "practice": rows.get(&h.slug),
                "snippet": h.snippet,
                "score": h.score,
            })).collect::<Vec<_>>(),
            "facets": results.facets.iter().map(|(f, values)| (f.param(), values.iter().map(|(v, c)| serde_json::json!({"value": v, "count": c})).collect::<Vec<_>>())).collect::<std::collections::BTreeMap<_, _>>(),
            "suggestion": results.suggestion,
        }))
        .unwrap();
        add("JSON", started.elapsed());
        std::hint::black_box(json);
    }
    out.push_str("| stage (natural queries, each run once, cache off) | mean ms | p50 ms | p99 ms |\n|---|---:|---:|---:|\n");
    for (name, mut times) in stages {
        let mean = times.iter().sum::<Duration>().as_secs_f64() * 1000.0 / times.len() as f64;
        times.sort();
        out.push_str(&format!(
            "| {name} | {mean:.2} | {:.2} | {:.2} |\n",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        ));
    }
    out
}

/// The natural queries of issue 20 (`generate::natural_queries`): 300 of them, or 20 in a
/// short run.
fn natural_queries() -> Vec<SearchRequest> {
    let n = if runs() >= 1000 { 300 } else { 20 };
    generate::natural_queries(n)
        .iter()
        .map(|q| request(q))
        .collect()
}

fn request(q: &str) -> SearchRequest {
    SearchRequest {
        query: UserQuery::parse(q),
        page: 1,
        per_page: 20,
        ..Default::default()
    }
}

/// Each query type with a deterministic set of realistic queries.
fn query_types() -> Vec<(&'static str, Vec<SearchRequest>)> {
    let words = Words::default();
    let mut rng = Rng::new(7);
    // Content words: skip the most frequent (stop words), keep the useful middle.
    let mut pick = |min_len: usize| loop {
        let w = words.word(&mut rng);
        if w.len() >= min_len
            && ![
                "the", "and", "with", "that", "from", "what", "about", "they", "their",
            ]
            .contains(&w)
        {
            return w.to_string();
        }
    };
    let one: Vec<String> = (0..50).map(|_| pick(5)).collect();
    let several: Vec<String> = (0..50)
        .map(|_| format!("{} {} {}", pick(4), pick(4), pick(5)))
        .collect();
    // A phrase of stop words alone ("for not") is left out of a search: not a phrase query.
    let phrase: Vec<String> = (0..50)
        .map(|_| {
            loop {
                let (a, b) = (pick(3), pick(3));
                if !(is_stop_word(&a) && is_stop_word(&b)) {
                    return format!("\"{a} {b}\"");
                }
            }
        })
        .collect();
    let typo: Vec<String> = (0..50)
        .map(|_| {
            let w = pick(7);
            let mut c: Vec<char> = w.chars().collect();
            c.swap(2, 3);
            c.into_iter().collect()
        })
        .collect();
    let synonyms: Vec<String> = [
        "ELL",
        "absenteeism",
        "SEL",
        "MTSS",
        "ninth grade",
        "families",
        "discourse",
        "PBIS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let with_facets: Vec<SearchRequest> = one
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut r = request(q);
            r.filters
                .entry(Facet::Grade)
                .or_default()
                .insert(["K-2", "3-5", "6-8", "9-12"][i % 4].to_string());
            r.filters
                .entry(Facet::Grade)
                .or_default()
                .insert("PK".to_string());
            r.filters
                .entry(Facet::Subject)
                .or_default()
                .insert(["math", "ela", "science"][i % 3].to_string());
            r
        })
        .collect();
    let browse: Vec<SearchRequest> = (0..4)
        .map(|i| {
            let mut r = request("");
            r.sort = Sort::Newest;
            r.filters.entry(Facet::Challenge).or_default().insert(
                [
                    "writing",
                    "academic-discourse",
                    "english-learners",
                    "chronic-absenteeism",
                ][i]
                    .to_string(),
            );
            r
        })
        .collect();
    let deep: Vec<SearchRequest> = several
        .iter()
        .map(|q| {
            let mut r = request(q);
            r.page = 50;
            r
        })
        .collect();
    vec![
        ("one word", one.iter().map(|q| request(q)).collect()),
        (
            "several words",
            several.iter().map(|q| request(q)).collect(),
        ),
        ("phrase", phrase.iter().map(|q| request(q)).collect()),
        ("typo", typo.iter().map(|q| request(q)).collect()),
        ("synonym", synonyms.iter().map(|q| request(q)).collect()),
        ("one word + 2 facets", with_facets),
        ("browse a facet, newest", browse),
        ("several words, page 50", deep),
    ]
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}
