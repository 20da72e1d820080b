//! Real hub processes on one database (both backends): a write through A is on B's search
//! and pages; `kill -9` of A in the middle of a stream of writes loses no acknowledged write
//! while B keeps serving; a restarted A and a new instance with an empty index catch up, the
//! new one reporting ready only once it has.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use brightspots::store::{Db, Draft, sql};

use crate::helpers::{fresh_database_url, seed_dir};
use crate::review::{rubric, share};
use crate::smtp::SmtpServer;

/// One `brightspots serve` process.
struct Hub {
    child: Child,
    base: String,
}

impl Hub {
    /// Starts a hub on `db` with its index in `index_dir`, on a free port, and waits until it
    /// says where it serves (it has opened the database and its index by then).
    fn start(db: &str, index_dir: &Path) -> Hub {
        Hub::start_logging(db, index_dir, "warn", Stdio::null())
    }

    fn start_logging(db: &str, index_dir: &Path, log: &str, stderr: Stdio) -> Hub {
        Hub::start_configured(db, index_dir, log, stderr, None)
    }

    /// With a settings file (`--config`).
    fn start_configured(
        db: &str,
        index_dir: &Path,
        log: &str,
        stderr: Stdio,
        config: Option<&Path>,
    ) -> Hub {
        let mut command = Command::new(env!("CARGO_BIN_EXE_brightspots"));
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .env_remove("DATABASE_URL")
            .env_remove("BRIGHTSPOTS_CONFIG")
            .env("RUST_LOG", log)
            .args(["--database-url", db, "--bind", "127.0.0.1:0"])
            .arg("--index-dir")
            .arg(index_dir)
            .arg("--content-dir")
            .arg(seed_dir())
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the hub exited before serving")
                .unwrap();
            if let Some(at) = line.strip_prefix("Bright Spots is serving on ") {
                break at.trim_end_matches('/').to_string();
            }
        };
        Hub { child, base }
    }

    fn kill(&mut self) {
        // SIGKILL: no shutdown, no last commit of the index.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser on a real hub: keeps cookies, follows no redirects.
struct Client {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Client {
    fn new(hub: &Hub) -> Client {
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: hub.base.clone(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(
        &mut self,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> reqwest::Result<(u16, String)> {
        let url = format!("{}{path}", self.base);
        let mut req = match form {
            Some(f) => self.http.post(url).form(f),
            None => self.http.get(url),
        };
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        let response = req.send().await?;
        for c in response.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_string(), v.to_string());
        }
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }

    async fn get(&mut self, path: &str) -> reqwest::Result<(u16, String)> {
        self.send(path, None).await
    }

    /// Posts `fields` with the session's CSRF token from `page`.
    async fn submit(
        &mut self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Result<(u16, String)> {
        let body = self.get(page).await?.1;
        let token = crate::helpers::csrf_in(&body).expect("a CSRF token");
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.send(path, Some(&all)).await
    }

    async fn sign_in(hub: &Hub, name: &str, role: &str, team: &str) -> Client {
        let mut c = Client::new(hub);
        let fields = [
            ("name", name),
            ("role", role),
            ("team", team),
            ("next", "/me"),
        ];
        let (status, body) = c.submit("/signin", "/signin/local", &fields).await.unwrap();
        assert_eq!(status, 303, "{body}");
        c
    }

    async fn search_total(&mut self, q: &str) -> Option<u64> {
        let (status, body) = self.get(&format!("/api/v1/search?q={q}")).await.ok()?;
        (status == 200).then_some(())?;
        serde_json::from_str::<serde_json::Value>(&body).ok()?["total"].as_u64()
    }
}

/// Shares, submits and vets a practice through `member` and `coach`; Ok when the vetting
/// was acknowledged (303).
async fn publish(member: &mut Client, coach: &mut Client, title: &str, slug: &str) -> bool {
    let form = share(title, "Talk rose from 41% to 78%.", &[("action", "submit")]);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if !matches!(member.submit("/share", "/share", &form).await, Ok((303, _))) {
        return false;
    }
    let Ok((200, page)) = coach.get(&format!("/review/{slug}")).await else {
        return false;
    };
    let revision = crate::review::field(&page, "revision");
    let path = format!("/review/{slug}");
    matches!(
        coach
            .submit(&path, &path, &rubric(&revision, "vet", ""))
            .await,
        Ok((303, _))
    )
}

/// Polls until `check` holds, for at most 20 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn index(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

#[tokio::test]
async fn instances_share_writes_survive_kill_9_and_a_new_one_is_ready_only_when_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path()).await;
    // A seeds the empty database; B starts on it afterwards with its own index.
    let mut a = Hub::start(&db, &index(dir.path(), "a"));
    let b = Hub::start(&db, &index(dir.path(), "b"));
    let mut on_b = Client::new(&b);
    let store = brightspots::store::Db::connect(&db).await.unwrap();
    let public = async || -> u64 {
        let n: i64 = sql::query_scalar(
            "select count(*) from practices where public_revision_id is not null and status <> 'archived'",
        )
        .fetch_one(store.reader())
        .await
        .unwrap();
        n as u64
    };
    let seeded = public().await;
    assert!(seeded > 0);
    eventually("B has indexed the seed catalog", async || {
        on_b.search_total("").await == Some(seeded)
    })
    .await;

    // B's readiness is watched for the whole test: it never drops.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (watching, mut probe) = (watching.clone(), Client::new(&b));
        tokio::spawn(async move {
            let mut probes = 0;
            while watching.load(Ordering::Relaxed) {
                let (status, _) = probe.get("/readyz").await.unwrap();
                assert_eq!(status, 200, "B stopped being ready");
                probes += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            probes
        })
    };

    // A write through A is on B's search and its (cached) pages.
    let mut member = Client::sign_in(&a, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut coach = Client::sign_in(&a, "Ada Coach", "coach", "").await;
    let before = on_b.get("/teams/bayview-ms-step").await.unwrap().1;
    assert!(!before.contains("Quokka restating"));
    assert!(
        publish(
            &mut member,
            &mut coach,
            "Quokka restating",
            "quokka-restating"
        )
        .await
    );
    eventually("B finds what A vetted", async || {
        on_b.search_total("quokka").await == Some(1)
    })
    .await;
    assert!(
        on_b.get("/practices/quokka-restating")
            .await
            .unwrap()
            .1
            .contains("Quokka restating")
    );
    assert!(
        on_b.get("/teams/bayview-ms-step")
            .await
            .unwrap()
            .1
            .contains("Quokka restating")
    );

    // A stream of writes through A, killed in the middle: every acknowledged write is on B.
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stream = {
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            for i in 0.. {
                let (title, slug) = (format!("Wombat talk {i}"), format!("wombat-talk-{i}"));
                if !publish(&mut member, &mut coach, &title, &slug).await {
                    return i;
                }
                acknowledged.lock().unwrap().push(slug);
            }
            unreachable!()
        })
    };
    eventually("A acknowledged some writes", async || {
        acknowledged.lock().unwrap().len() >= 6
    })
    .await;
    a.kill();
    let attempted = stream.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 6 && acknowledged.len() as i32 <= attempted);
    eventually("B finds every acknowledged write", async || {
        on_b.search_total("wombat").await == Some(acknowledged.len() as u64)
    })
    .await;
    for slug in &acknowledged {
        let (status, page) = on_b.get(&format!("/practices/{slug}")).await.unwrap();
        assert_eq!(status, 200, "{slug}");
        assert!(page.contains("Wombat talk"));
    }

    // A restarted on its index as the kill left it catches up.
    let a = Hub::start(&db, &index(dir.path(), "a"));
    let mut on_a = Client::new(&a);
    let total_b = on_b.search_total("").await.unwrap();
    eventually("the restarted A catches up", async || {
        on_a.search_total("").await == Some(total_b)
    })
    .await;

    // A third instance on an empty index: more practices make its rebuild take a moment.
    let catalog = dir.path().join("generated");
    let generated = Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .args(["generate", "--practices", "300", "--seed", "42", "--out"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let imported = Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(["--database-url", &db, "import"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let public = public().await;
    assert!(public > total_b + 100, "{public}");
    eventually("B indexes the import", async || {
        on_b.search_total("").await == Some(public)
    })
    .await;
    let c = Hub::start(&db, &index(dir.path(), "c"));
    let mut on_c = Client::new(&c);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = on_c.get("/readyz").await.unwrap();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "C never became ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        on_c.search_total("").await,
        Some(public),
        "ready means caught up"
    );

    watching.store(false, Ordering::Relaxed);
    assert!(watcher.await.unwrap() > 10);
}

/// Instances started together on a new database import the seed catalog once: whichever takes
/// the writer first, and the others find it done.
#[tokio::test]
async fn instances_started_together_on_an_empty_database_seed_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path()).await;
    let logs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("hub{i}.log")))
        .collect();
    let starting: Vec<_> = logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            let (db, index, log) = (db.clone(), index(dir.path(), &format!("i{i}")), log.clone());
            std::thread::spawn(move || {
                let file = std::fs::File::create(&log).unwrap();
                Hub::start_logging(&db, &index, "info", Stdio::from(file))
            })
        })
        .collect();
    let hubs: Vec<Hub> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    let said = |what: &str| logs.iter().filter(|l| read(l).contains(what)).count();
    let others = said("another instance imported the seed catalog");
    assert_eq!(
        said("imported the seed catalog") - others,
        1,
        "one instance imports; the others ({others} of them waited for it) find it done"
    );
    let store = brightspots::store::Db::connect(&db).await.unwrap();
    let revisions: i64 = sql::query_scalar("select count(*) from practice_revisions")
        .fetch_one(store.reader())
        .await
        .unwrap();
    let practices: i64 = sql::query_scalar("select count(*) from practices")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(revisions, practices);
    drop(hubs);
}

/// A settings file that sends e-mail to `server`.
fn mail_config(dir: &Path, server: &SmtpServer) -> PathBuf {
    let path = dir.join("brightspots.toml");
    std::fs::write(
        &path,
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Hub <hub@brightspots.test>\"\n",
            server.port
        ),
    )
    .unwrap();
    path
}

/// A hub whose index is `dir/name`, sending e-mail as `config` says.
fn mail_hub(db: &str, dir: &Path, name: &str, config: &Path) -> Hub {
    Hub::start_configured(db, &index(dir, name), "warn", Stdio::null(), Some(config))
}

/// `n` messages straight into the outbox, as the notify job writes them.
async fn queue_mail(store: &Db, n: usize) {
    let user = store
        .create_person("reader@district.test", "Reader")
        .await
        .unwrap();
    let drafts: Vec<Draft> = (0..n).map(|i| crate::mail::draft(i, user)).collect();
    assert_eq!(
        store
            .enqueue_mail(&drafts, brightspots::auth::now())
            .await
            .unwrap(),
        n as u64
    );
}

async fn mail_states(store: &Db) -> Vec<String> {
    sql::query_scalar("select state from outbox order by id")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn two_hub_processes_on_one_database_send_each_message_once() {
    let server = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path()).await;
    let config = mail_config(dir.path(), &server);
    let _a = mail_hub(&db, dir.path(), "a", &config);
    let _b = mail_hub(&db, dir.path(), "b", &config);
    let store = Db::connect(&db).await.unwrap();
    queue_mail(&store, 40).await;
    let got = server.wait_for(40).await;
    // Both senders have polled the outbox several times since.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got_now = server.received();
    assert_eq!(got_now.len(), 40, "no message twice");
    let subjects: std::collections::BTreeSet<&str> = got.iter().map(|m| m.subject()).collect();
    assert_eq!(subjects.len(), 40);
    assert_eq!(mail_states(&store).await, vec!["sent"; 40]);
}

/// The guarantee at its hardest point: the server has the message, the hub dies before it
/// hears back and records it. Nothing can tell whether the message went; the hub never
/// sends it again by itself, and says so.
#[tokio::test]
async fn a_hub_killed_between_sending_and_recording_never_sends_again() {
    // The server reads the message, then takes 20 s to answer.
    let server = SmtpServer::start_with(&["--delay-data", "20"]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path()).await;
    let config = mail_config(dir.path(), &server);
    let mut a = mail_hub(&db, dir.path(), "a", &config);
    let store = Db::connect(&db).await.unwrap();
    queue_mail(&store, 1).await;
    server.wait_for(1).await;
    a.kill();
    assert_eq!(mail_states(&store).await, ["sending"]);

    // Another instance starts; the message is not sent again…
    let _b = mail_hub(&db, dir.path(), "b", &config);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(server.received().len(), 1);
    // …and once its claim has run out, it is recorded as uncertain, for people to decide.
    let later = brightspots::auth::now() + 3600;
    assert_eq!(store.settle_mail(later, 0).await.unwrap(), 1);
    let (state, error): (String, String) = sql::query_as("select state, last_error from outbox")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(state, "uncertain");
    assert!(error.contains("not sent again"), "{error}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.received().len(), 1);
}
