//! The weekly digest at scale (issue 16): `cargo bench --bench digest` (size: `-- 100000`,
//! the default; `BENCH_KEEP=DIR` keeps the prepared database and index in `DIR/<n>-digest`).
//!
//! A child process (this binary again, `--prepare`) generates the catalog (seed 42), imports
//! it, builds the index, creates 10,000 people with 1–3 subscriptions each (challenge areas,
//! teams, schools and a few hundred saved searches, popular ones shared, almost all weekly)
//! and makes one week of news: about one practice in 200 gets a `submitted` and a `vetted`
//! event for its public revision inside the week. The measuring process starts an `AppState`
//! on that database, so its memory is the hub's and the digest's alone, and times:
//!
//! 1. `digest::compose` and `digest::run` (compose and the outbox insert) alone: wall time,
//!    CPU time, messages, their size, peak RSS (and over the RSS before the call), and a
//!    checksum of the messages (another version of the code must compose the same);
//! 2. uncached searches (`Search::search_uncached` on a blocking thread, as the web handlers
//!    run it) from `BENCH_CLIENTS` clients (default 1) back to back, in periods without the
//!    digest and periods while `compose`/`run` runs, alternating; mean, p50/p95/p99 of each
//!    and the slowdown.
//!
//! SQLite always; PostgreSQL too when `BRIGHTSPOTS_TEST_POSTGRES` names a server (a database
//! `bs_digest_<n>` of its own, kept with `BENCH_KEEP`, else dropped at the end). Settings:
//! `BENCH_ROUNDS` (3), `BENCH_PEOPLE` (10,000), `BENCH_NEWS` (one practice in 200),
//! `BENCH_NO_LOAD=1` (the digest alone, no searches: for profiling it).
//! `cargo test` runs it on a tiny catalog: the harness works end to end.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use brightspots::AppState;
use brightspots::config::{Settings, SmtpSecurity, SmtpSettings};
use brightspots::generate::{self, Rng, Words};
use brightspots::notify::digest;
use brightspots::search::{Facet, Search, SearchRequest, Sort, UserQuery, is_stop_word};
use brightspots::store::{Db, Draft, import_catalog, sql};

/// The size of a run: people, their subscriptions and the week's news.
#[derive(Clone, Copy)]
struct Scale {
    practices: usize,
    people: usize,
    /// Distinct saved searches to draw from.
    searches: usize,
    /// Practices vetted in the week.
    news: usize,
    /// Digest runs per measurement.
    rounds: usize,
    /// Shortest period of searches without the digest.
    baseline: Duration,
}

impl Scale {
    fn new(practices: usize, benching: bool) -> Scale {
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or(default)
        };
        if benching {
            Scale {
                practices,
                people: env("BENCH_PEOPLE", 10_000),
                searches: 300,
                news: env("BENCH_NEWS", (practices / 200).max(10)),
                rounds: env("BENCH_ROUNDS", 3),
                baseline: Duration::from_secs(3),
            }
        } else {
            Scale {
                practices,
                people: 60,
                searches: 12,
                news: 15,
                rounds: 1,
                baseline: Duration::from_millis(200),
            }
        }
    }
}

/// The week the digest covers: the one before Monday 2026-12-07 07:00 UTC.
const UNTIL: i64 = 1_796_626_800;
const WEEK: i64 = 7 * 24 * 3600;
const PEOPLE_DOMAIN: &str = "digest.bench";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--prepare") {
        // The child: prepare the database and exit (its memory is not the measured process's).
        let practices = args[1].parse().unwrap();
        let benching = args[2] == "bench";
        let url = &args[3];
        let index_dir = PathBuf::from(&args[4]);
        let scale = Scale::new(practices, benching);
        runtime().block_on(prepare(scale, url, &index_dir));
        return;
    }
    let sizes: Vec<usize> = args
        .iter()
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    // `cargo bench` passes --bench; `cargo test` runs the harness on a tiny catalog.
    let benching = args.iter().any(|a| a == "--bench");
    let n = match (sizes.first(), benching) {
        (Some(n), _) => *n,
        (None, true) => 100_000,
        (None, false) => 300,
    };
    let scale = Scale::new(n, benching);
    let keep = std::env::var_os("BENCH_KEEP").map(|d| PathBuf::from(d).join(format!("{n}-digest")));
    let temp = tempfile::tempdir().unwrap();
    let dir = keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let mut backends = vec![(
        "SQLite",
        format!("sqlite:{}", dir.join("bench.db").display()),
        dir.join("index"),
    )];
    let postgres = std::env::var("BRIGHTSPOTS_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty());
    let pg_name = if keep.is_some() {
        format!("bs_digest_{n}")
    } else {
        format!("bs_digest_{n}_{}", std::process::id())
    };
    if let Some(server) = &postgres {
        backends.push((
            "PostgreSQL",
            with_database(server, &pg_name),
            dir.join("pg-index"),
        ));
    }
    let mut reports = Vec::new();
    for (backend, url, index_dir) in backends {
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(server) = &postgres
            && backend == "PostgreSQL"
        {
            runtime().block_on(create_database(server, &pg_name, keep.is_none()));
        }
        let started = Instant::now();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--prepare",
                &n.to_string(),
                if benching { "bench" } else { "test" },
                &url,
                &index_dir.display().to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "preparing the {backend} database failed");
        eprintln!(
            "{backend}: prepared in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        reports.push(runtime().block_on(measure(scale, backend, &url, &index_dir)));
        if let Some(server) = &postgres
            && backend == "PostgreSQL"
            && keep.is_none()
        {
            runtime().block_on(drop_database(server, &pg_name));
        }
    }
    print_reports(scale, &reports);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn with_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("a postgres:// URL");
    url.set_path(name);
    url.to_string()
}

async fn create_database(server: &str, name: &str, fresh: bool) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server).await.unwrap();
    if fresh {
        sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    if !exists {
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

async fn drop_database(server: &str, name: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Preparing the database (in the child process)

async fn prepare(scale: Scale, url: &str, index_dir: &Path) {
    let db = Db::connect(url).await.unwrap();
    let practices: i64 = sql::query_scalar("select count(*) from practices")
        .fetch_one(db.reader())
        .await
        .unwrap();
    if practices == 0 {
        let started = Instant::now();
        import_catalog(&db, &generate::catalog(scale.practices, 42))
            .await
            .unwrap();
        eprintln!(
            "imported {} practices in {:.1} s",
            scale.practices,
            started.elapsed().as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(index_dir);
    }
    if !index_dir.join("meta.json").exists() {
        let started = Instant::now();
        brightspots::search::rebuild_offline(index_dir, db.clone(), |_, _| {})
            .await
            .unwrap();
        eprintln!("index rebuilt in {:.1} s", started.elapsed().as_secs_f64());
    }
    let people: i64 = sql::query_scalar(format!(
        "select count(*) from users where email like '%@{PEOPLE_DOMAIN}'"
    ))
    .fetch_one(db.reader())
    .await
    .unwrap();
    if (people as usize) < scale.people {
        let search = Search::start(index_dir, db.clone()).unwrap();
        let head = db.feed_head().await.unwrap();
        while !search.caught_up(head) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let searches = saved_searches(&search, scale.searches);
        search.shutdown().await;
        let started = Instant::now();
        subscribe_people(&db, scale, people as usize, &searches).await;
        eprintln!(
            "{} people subscribed in {:.1} s",
            scale.people - people as usize,
            started.elapsed().as_secs_f64()
        );
    }
    make_news(&db, scale.news).await;
    db.close().await;
}

/// Saved searches as `/search` query strings: words of the catalog that find at most a
/// quarter of it (a saved search for a word in every practice is no search), two-word
/// phrases, pairs of words, acronyms with synonyms; a third with a grade band or a subject.
fn saved_searches(search: &Search, n: usize) -> Vec<String> {
    let words = Words::default();
    let mut rng = Rng::new(16);
    let total = search.num_docs().max(1);
    let specific = |rng: &mut Rng| loop {
        let w = words.word(rng);
        if w.len() < 4 || is_stop_word(w) || !w.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let found = search
            .search_uncached(&request(w))
            .map_or(total, |r| r.total);
        if found * 4 <= total {
            return w.to_string();
        }
    };
    let acronyms = ["ELL", "SEL", "MTSS", "PBIS", "absenteeism", "ninth grade"];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < n {
        let q = match rng.range(0, 9) {
            0..=3 => specific(&mut rng),
            4 | 5 => format!("\"{} {}\"", specific(&mut rng), specific(&mut rng)),
            6..=8 => format!("{} {}", specific(&mut rng), specific(&mut rng)),
            _ => acronyms[rng.range(0, acronyms.len() - 1)].to_string(),
        };
        let mut params = form_urlencoded::Serializer::new(String::new());
        params.append_pair("q", &q);
        match rng.range(0, 5) {
            0 => {
                params.append_pair(
                    "grade",
                    ["PK", "K-2", "3-5", "6-8", "9-12"][rng.range(0, 4)],
                );
            }
            1 => {
                params.append_pair(
                    "subject",
                    ["ela", "math", "science", "sel"][rng.range(0, 3)],
                );
            }
            _ => {}
        }
        let value = params.finish();
        if seen.insert(value.clone()) {
            out.push(value);
        }
    }
    out
}

/// The `i`-th of `n` things, drawn with Zipf's popularity (the k-th weighs 1/k).
fn zipf(rng: &mut Rng, n: usize) -> usize {
    let total: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = (rng.next_u64() as f64 / u64::MAX as f64) * total;
    for k in 1..=n {
        x -= 1.0 / k as f64;
        if x <= 0.0 {
            return k - 1;
        }
    }
    n - 1
}

/// People `from..scale.people`, each with 1–3 subscriptions through `Db::subscribe`.
async fn subscribe_people(db: &Db, scale: Scale, from: usize, searches: &[String]) {
    let areas: Vec<(String, String)> =
        sql::query_as("select slug, name from challenge_areas order by slug")
            .fetch_all(db.reader())
            .await
            .unwrap();
    let teams: Vec<(String, String)> = sql::query_as("select slug, name from teams order by slug")
        .fetch_all(db.reader())
        .await
        .unwrap();
    let schools: Vec<(String, String)> =
        sql::query_as("select slug, name from schools order by slug")
            .fetch_all(db.reader())
            .await
            .unwrap();
    let now = brightspots::auth::now();
    for i in from..scale.people {
        let mut rng = Rng::new(1_000_000 + i as u64);
        let id = db
            .create_person(
                &format!("reader{i}@{PEOPLE_DOMAIN}"),
                &format!("Reader {i}"),
            )
            .await
            .unwrap();
        let count = match rng.range(0, 9) {
            0..=4 => 1,
            5..=7 => 2,
            _ => 3,
        };
        for _ in 0..count {
            let (target, value, label) = match rng.range(0, 19) {
                // Challenge areas: 35 %, the popular ones more.
                0..=6 => {
                    let (slug, name) = &areas[zipf(&mut rng, areas.len())];
                    ("area", slug.clone(), format!("Challenge area: {name}"))
                }
                // Teams 20 %, schools 15 %: one's own and its neighbours'.
                7..=10 => {
                    let (slug, name) = &teams[rng.range(0, teams.len() - 1)];
                    ("team", slug.clone(), format!("Team: {name}"))
                }
                11..=13 => {
                    let (slug, name) = &schools[rng.range(0, schools.len() - 1)];
                    ("school", slug.clone(), format!("School: {name}"))
                }
                // Saved searches 30 %.
                _ => {
                    let value = &searches[zipf(&mut rng, searches.len())];
                    let q: Vec<(String, String)> = serde_urlencoded::from_str(value).unwrap();
                    let label = q
                        .iter()
                        .map(|(k, v)| {
                            if k == "q" {
                                format!("“{v}”")
                            } else {
                                format!("{k} {v}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    ("search", value.clone(), format!("Search: {label}"))
                }
            };
            let delivery = if rng.range(0, 19) == 0 {
                "immediate"
            } else {
                "weekly"
            };
            db.subscribe(id, target, &value, &label, delivery, now)
                .await
                .unwrap();
        }
    }
}

/// The week's news: `news` public practices, each with a `submitted` and a `vetted` event
/// of its public revision inside the week (the bench's earlier ones replaced). Written
/// directly, in one transaction: `record_event` would schedule notify jobs too.
async fn make_news(db: &Db, news: usize) {
    let mut public: Vec<(i64, i64)> = sql::query_as(
        "select id, public_revision_id from practices where status = 'vetted' and public_revision_id is not null order by id",
    )
    .fetch_all(db.reader())
    .await
    .unwrap();
    let mut rng = Rng::new(2026);
    let mut tx = db.begin_write().await.unwrap();
    sql::query("delete from practice_events where kind in ('submitted', 'vetted') and at >= $1")
        .bind(stamp(UNTIL - 4 * WEEK).as_str())
        .execute(&mut tx)
        .await
        .unwrap();
    for _ in 0..news.min(public.len()) {
        let (practice, revision) = public.swap_remove(rng.range(0, public.len() - 1));
        let vetted = UNTIL - WEEK + rng.range(3600, WEEK as usize - 3600) as i64;
        let submitted = vetted - rng.range(3 * 24 * 3600, 20 * 24 * 3600) as i64;
        for (kind, at) in [("submitted", submitted), ("vetted", vetted)] {
            sql::query(
                "insert into practice_events (practice_id, revision_id, kind, at) values ($1, $2, $3, $4)",
            )
            .bind(practice)
            .bind(revision)
            .bind(kind)
            .bind(stamp(at).as_str())
            .execute(&mut tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
}

fn stamp(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Measuring (in this process)

fn request(q: &str) -> SearchRequest {
    SearchRequest {
        query: UserQuery::parse(q),
        page: 1,
        per_page: 20,
        ..Default::default()
    }
}

/// What people search for while the digest runs, as `scripts/bench-http.sh` mixes it: one
/// word 35 %, three words 25 %, a phrase 10 %, a typo 8 %, an acronym 8 %, a word with grade
/// and subject filters 8 %, an area by newest 6 %.
fn search_mix() -> Vec<SearchRequest> {
    let words = Words::default();
    let mut rng = Rng::new(7);
    let mut pick = |min_len: usize| loop {
        let w = words.word(&mut rng);
        if w.len() >= min_len && !is_stop_word(w) {
            return w.to_string();
        }
    };
    let mut out = Vec::new();
    for i in 0..200 {
        let req = match i % 50 {
            0..=17 => request(&pick(5)),
            18..=29 => request(&format!("{} {} {}", pick(4), pick(4), pick(5))),
            30..=34 => request(&format!("\"{} {}\"", pick(4), pick(4))),
            35..=38 => {
                let mut c: Vec<char> = pick(7).chars().collect();
                c.swap(2, 3);
                request(&c.into_iter().collect::<String>())
            }
            39..=42 => request(["ELL", "SEL", "MTSS", "PBIS", "absenteeism", "ninth grade"][i % 6]),
            43..=46 => {
                let mut r = request(&pick(5));
                r.filters
                    .entry(Facet::Grade)
                    .or_default()
                    .insert(["K-2", "3-5", "6-8", "9-12"][i % 4].to_string());
                r.filters
                    .entry(Facet::Subject)
                    .or_default()
                    .insert(["math", "ela", "science"][i % 3].to_string());
                r
            }
            _ => {
                let mut r = request("");
                r.sort = Sort::Newest;
                r.filters.entry(Facet::Challenge).or_default().insert(
                    ["writing", "academic-discourse", "english-learners"][i % 3].to_string(),
                );
                r
            }
        };
        out.push(req);
    }
    out
}

/// `VmRSS` and `VmHWM` (peak) of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time of this process so far (user and system), in seconds.
fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command (in brackets, which may hold spaces): utime is the 14th
    // of the line, stime the 15th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

/// Starts a new peak: `VmHWM` becomes `VmRSS` (Linux 4.0 and later).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One call of the digest, alone.
#[derive(Default, Clone)]
struct Call {
    time: Duration,
    /// CPU time of the process meanwhile (the digest's, the hub being idle).
    cpu: f64,
    messages: usize,
    /// Text and HTML parts of all messages.
    bytes: usize,
    /// Practices listed per message: mean and most.
    listed: (f64, usize),
    checksum: u64,
    rss_before: u64,
    peak: u64,
    reset: bool,
}

/// A hash of every message, to tell that another version of the code composes the same.
fn checksum(drafts: &[Draft]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut sorted: Vec<&Draft> = drafts.iter().collect();
    sorted.sort_by(|a, b| a.dedupe.cmp(&b.dedupe));
    let mut h = std::hash::DefaultHasher::new();
    for d in sorted {
        (&d.dedupe, d.user_id, &d.to_addr, &d.kind, &d.subject).hash(&mut h);
        (&d.body_text, &d.body_html, &d.unsubscribe).hash(&mut h);
    }
    h.finish()
}

fn describe(drafts: &[Draft]) -> (usize, (f64, usize)) {
    let bytes = drafts
        .iter()
        .map(|d| d.body_text.len() + d.body_html.len())
        .sum();
    // "[Network] This week: 12 practices for you"
    let counts: Vec<usize> = drafts
        .iter()
        .filter_map(|d| {
            d.subject
                .split("This week: ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64;
    (bytes, (mean, counts.iter().copied().max().unwrap_or(0)))
}

async fn clear_outbox(db: &Db) {
    let mut tx = db.begin_write().await.unwrap();
    sql::query("delete from outbox")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// `compose` (false) or `run` (true) once, on a task of its own as the job worker runs it.
async fn digest_once(state: &AppState, run: bool) -> Call {
    if run {
        clear_outbox(&state.db).await;
    }
    let reset = reset_peak();
    let (rss_before, _) = memory();
    let s = state.clone();
    let cpu = cpu_time();
    let started = Instant::now();
    let (messages, bytes, listed, checksum) = tokio::spawn(async move {
        if run {
            let added = digest::run(&s, UNTIL).await.unwrap();
            (added as usize, 0, (0.0, 0), 0)
        } else {
            let drafts = digest::compose(&s, UNTIL).await.unwrap();
            let (bytes, listed) = describe(&drafts);
            (drafts.len(), bytes, listed, checksum(&drafts))
        }
    })
    .await
    .unwrap();
    let time = started.elapsed();
    let cpu = cpu_time() - cpu;
    let (_, peak) = memory();
    Call {
        time,
        cpu,
        messages,
        bytes,
        listed,
        checksum,
        rss_before,
        peak,
        reset,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Between periods: samples that straddle a change are dropped.
    Between = 0,
    Baseline = 1,
    Compose = 2,
    Run = 3,
}

struct Report {
    backend: &'static str,
    setup: Setup,
    first: Call,
    compose: Vec<Call>,
    run: Vec<Call>,
    /// Search latencies by phase, in milliseconds.
    latencies: BTreeMap<u8, Vec<f64>>,
    /// How long the digest took while searches ran: compose, run.
    loaded: (Vec<Duration>, Vec<Duration>),
    load: (String, String),
}

struct Setup {
    people: i64,
    subscriptions: Vec<(String, String, i64)>,
    distinct_searches: i64,
    news: usize,
    public: u64,
    rss_started: u64,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn measure(scale: Scale, backend: &'static str, url: &str, index_dir: &Path) -> Report {
    let settings = Settings {
        database_url: url.to_string().into(),
        index_dir: index_dir.to_path_buf(),
        network_name: "Coastal NIC".into(),
        ..Settings::default()
    };
    let db = Db::connect_waiting(url, settings.write_wait())
        .await
        .unwrap();
    // E-mail off for the hub itself (no sender, no digest job of its own); `run` gets
    // settings with a server, as the job worker's would have.
    let state = AppState::start(db.clone(), settings).unwrap();
    let head = db.feed_head().await.unwrap();
    state.search.wake();
    while !state.search.caught_up(head) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut mailing = state.clone();
    let mut with_smtp = (*state.settings).clone();
    with_smtp.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(2525),
        security: SmtpSecurity::None,
        from: "Bright Spots <hub@brightspots.test>".into(),
        username: None,
        password: Default::default(),
    });
    mailing.settings = Arc::new(with_smtp);

    let subscriptions: Vec<(String, String, i64)> = sql::query_as(
        "select target, delivery, count(*) from subscriptions group by target, delivery order by target, delivery",
    )
    .fetch_all(db.reader())
    .await
    .unwrap();
    let people: i64 = sql::query_scalar("select count(distinct user_id) from subscriptions")
        .fetch_one(db.reader())
        .await
        .unwrap();
    let distinct_searches: i64 = sql::query_scalar(
        "select count(distinct value) from subscriptions where target = 'search' and delivery = 'weekly'",
    )
    .fetch_one(db.reader())
    .await
    .unwrap();
    let news = state
        .db
        .announced_between(&stamp(UNTIL - WEEK), &stamp(UNTIL))
        .await
        .unwrap()
        .len();
    let setup = Setup {
        people,
        subscriptions,
        distinct_searches,
        news,
        public: state.search.num_docs(),
        rss_started: memory().0,
    };
    eprintln!("{backend}: {news} practices of the week, {people} subscribers");

    // Alone: the first compose (the signing key made, caches cold) is a warm-up.
    let load_start = load_average();
    let first = digest_once(&state, false).await;
    eprintln!(
        "{backend}: first compose {:.2} s, {} messages",
        first.time.as_secs_f64(),
        first.messages
    );
    let mut compose = Vec::new();
    let mut run = Vec::new();
    for _ in 0..scale.rounds {
        compose.push(digest_once(&state, false).await);
        run.push(digest_once(&mailing, true).await);
    }

    // Searches without and with the digest, alternating (BENCH_NO_LOAD=1: the digest alone,
    // for profiling it).
    let rounds = if std::env::var_os("BENCH_NO_LOAD").is_some() {
        0
    } else {
        scale.rounds
    };
    let phase = Arc::new(AtomicU8::new(Phase::Between as u8));
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(search_mix());
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (phase, stop, requests, search) = (
            phase.clone(),
            stop.clone(),
            requests.clone(),
            state.search.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<(u8, f64)> = Vec::new();
            let mut i = c * 37;
            while !stop.load(Ordering::Relaxed) {
                let req = requests[i % requests.len()].clone();
                i += 1;
                let search = search.clone();
                let before = phase.load(Ordering::Acquire);
                let started = Instant::now();
                tokio::task::spawn_blocking(move || search.search_uncached(&req).unwrap())
                    .await
                    .unwrap();
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if before != Phase::Between as u8 && phase.load(Ordering::Acquire) == before {
                    samples.push((before, ms));
                }
            }
            samples
        }));
    }
    // Periods without the digest as long as it takes, within 3 to 10 s.
    let typical = Duration::from_secs_f64(median(
        compose.iter().map(|c| c.time.as_secs_f64()).collect(),
    ))
    .clamp(scale.baseline, scale.baseline.max(Duration::from_secs(10)));
    let set = |p: Phase| phase.store(p as u8, Ordering::Release);
    let mut loaded = (Vec::new(), Vec::new());
    // Let the clients warm up.
    tokio::time::sleep(scale.baseline / 2).await;
    for _ in 0..rounds {
        for run in [false, true] {
            set(Phase::Baseline);
            tokio::time::sleep(typical).await;
            set(Phase::Between);
            if run {
                clear_outbox(&state.db).await;
            }
            set(if run { Phase::Run } else { Phase::Compose });
            let s = if run { mailing.clone() } else { state.clone() };
            let started = Instant::now();
            tokio::spawn(async move {
                if run {
                    digest::run(&s, UNTIL).await.unwrap();
                } else {
                    digest::compose(&s, UNTIL).await.unwrap();
                }
            })
            .await
            .unwrap();
            let took = started.elapsed();
            set(Phase::Between);
            if run {
                loaded.1.push(took);
            } else {
                loaded.0.push(took);
            }
        }
    }
    set(Phase::Baseline);
    tokio::time::sleep(typical).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
    for t in tasks {
        for (p, ms) in t.await.unwrap() {
            latencies.entry(p).or_default().push(ms);
        }
    }
    for v in latencies.values_mut() {
        v.sort_by(f64::total_cmp);
    }
    let load_end = load_average();
    clear_outbox(&state.db).await;
    state.shutdown().await;
    db.close().await;
    Report {
        backend,
        setup,
        first,
        compose,
        run,
        latencies,
        loaded,
        load: (load_start, load_end),
    }
}

// ---------------------------------------------------------------------------------------
// The tables

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn print_reports(scale: Scale, reports: &[Report]) {
    println!(
        "{} practices; the week before {}; {} rounds; {} search client(s)\n",
        scale.practices,
        stamp(UNTIL),
        scale.rounds,
        std::env::var("BENCH_CLIENTS").unwrap_or_else(|_| "1".into())
    );
    for r in reports {
        let s = &r.setup;
        println!(
            "{}: {} public practices, {} practices of the week; {} people with subscriptions; {} distinct weekly saved searches; process RSS after start {:.0} MB",
            r.backend,
            s.public,
            s.news,
            s.people,
            s.distinct_searches,
            mb(s.rss_started)
        );
        let subs: Vec<String> = s
            .subscriptions
            .iter()
            .map(|(t, d, n)| format!("{t} {d} {n}"))
            .collect();
        println!("subscriptions: {}", subs.join(", "));
        println!(
            "messages' checksum: {:016x}; load average: {} at the start, {} at the end\n",
            r.first.checksum, r.load.0, r.load.1
        );
    }
    println!(
        "| backend | call | wall time, median (min–max) | CPU time, median | messages | text + HTML | practices per message, mean / most | process peak RSS, median (most) | peak over RSS before the call, median (most) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        for (name, calls) in [
            ("`compose`, first (cold)", &vec![r.first.clone()]),
            ("`compose`", &r.compose),
            ("`run` (compose + outbox)", &r.run),
        ] {
            let times: Vec<f64> = calls.iter().map(|c| c.time.as_secs_f64()).collect();
            let lo = times.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = times.iter().copied().fold(0.0, f64::max);
            let grown: Vec<f64> = calls
                .iter()
                .map(|c| mb(c.peak.saturating_sub(c.rss_before)))
                .collect();
            let most = grown.iter().copied().fold(0.0, f64::max);
            let c = &calls[0];
            let (bytes, listed) = if c.bytes > 0 {
                (
                    format!("{:.0} MB", mb(c.bytes as u64)),
                    format!("{:.1} / {}", c.listed.0, c.listed.1),
                )
            } else {
                ("″".into(), "″".into())
            };
            let peaks: Vec<f64> = calls.iter().map(|c| mb(c.peak)).collect();
            let highest = peaks.iter().copied().fold(0.0, f64::max);
            println!(
                "| {} | {name} | {:.2} s ({:.2}–{:.2}) | {:.2} s | {} | {bytes} | {listed} | {:.0} MB ({:.0} MB) | {} |",
                r.backend,
                median(times),
                lo,
                hi,
                median(calls.iter().map(|c| c.cpu).collect()),
                c.messages,
                median(peaks),
                highest,
                if c.reset {
                    format!("{:.0} MB ({:.0} MB)", median(grown), most)
                } else {
                    "(no /proc/self/clear_refs)".into()
                },
            );
        }
    }
    println!(
        "\n| backend | searches | n | mean ms | p50 ms | p95 ms | p99 ms | mean / p50 / p95 / p99 ÷ without | digest wall time meanwhile, median |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        let base = r
            .latencies
            .get(&(Phase::Baseline as u8))
            .cloned()
            .unwrap_or_default();
        let row = |name: &str, v: &[f64], took: Option<&Vec<Duration>>| {
            let ratio = if name.starts_with("without") {
                "—".to_string()
            } else {
                format!(
                    "{:.2} / {:.2} / {:.2} / {:.2}",
                    mean(v) / mean(&base),
                    percentile(v, 0.5) / percentile(&base, 0.5),
                    percentile(v, 0.95) / percentile(&base, 0.95),
                    percentile(v, 0.99) / percentile(&base, 0.99)
                )
            };
            let took = took.map_or("—".to_string(), |t| {
                format!(
                    "{:.2} s",
                    median(t.iter().map(Duration::as_secs_f64).collect())
                )
            });
            println!(
                "| {} | {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {ratio} | {took} |",
                r.backend,
                v.len(),
                mean(v),
                percentile(v, 0.5),
                percentile(v, 0.95),
                percentile(v, 0.99),
            );
        };
        row("without the digest", &base, None);
        for (name, p, took) in [
            ("while `compose` runs", Phase::Compose, &r.loaded.0),
            ("while `run` runs", Phase::Run, &r.loaded.1),
        ] {
            let v = r.latencies.get(&(p as u8)).cloned().unwrap_or_default();
            row(name, &v, Some(took));
        }
    }
}
