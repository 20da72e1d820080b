use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use brightspots::config::Settings;
use brightspots::store::{Db, import_catalog};
use brightspots::{AppState, app, content};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The repository's seed catalog.
pub fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

/// The app on its own temp database; dropped with the test.
pub struct TestApp {
    /// Holds the temp database until the test ends.
    _dir: tempfile::TempDir,
    pub state: AppState,
}

impl TestApp {
    pub async fn empty() -> TestApp {
        TestApp::configured(|_| {}).await
    }

    /// An empty app with settings changed by `f`.
    pub async fn configured(f: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings {
            database_url: fresh_database_url(dir.path()).await.into(),
            index_dir: dir.path().join("search_index"),
            content_dir: seed_dir(),
            ..Settings::default()
        };
        f(&mut settings);
        let db = Db::connect_waiting(&settings.database_url, settings.write_wait())
            .await
            .unwrap();
        let state = AppState::start(db, settings).unwrap();
        TestApp { _dir: dir, state }
    }

    /// With the seed catalog imported and indexed.
    pub async fn seeded() -> TestApp {
        TestApp::seeded_with(|_| {}).await
    }

    pub async fn seeded_with(f: impl FnOnce(&mut Settings)) -> TestApp {
        let t = TestApp::configured(f).await;
        let catalog = content::load_dir(&seed_dir(), t.state.settings.min_cell()).unwrap();
        import_catalog(&t.state.db, &catalog).await.unwrap();
        t.indexed().await;
        t
    }

    /// Stops the app (the indexer commits and lets go of the index) and starts it again on
    /// the same database and index, as a restart of the server would.
    pub async fn restart(&mut self) {
        self.state.shutdown().await;
        let settings = (*self.state.settings).clone();
        self.state = AppState::start(self.state.db.clone(), settings).unwrap();
    }

    /// Waits until the search index has finished its first pass (a rebuild when there is one
    /// to do) and applied every change in the database.
    pub async fn indexed(&self) {
        let head = self.state.db.feed_head().await.unwrap();
        self.state.search.wake();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.state.search.caught_up(head) {
            assert!(
                std::time::Instant::now() < deadline,
                "the index did not catch up with {head:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Another hub instance on this app's database, with its own search index, as a second
    /// process behind a load balancer would be.
    pub async fn second_instance(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = (*self.state.settings).clone();
        settings.index_dir = dir.path().join("search_index");
        let db = Db::connect_waiting(&settings.database_url, settings.write_wait())
            .await
            .unwrap();
        let state = AppState::start(db, settings).unwrap();
        let other = TestApp { _dir: dir, state };
        other.indexed().await;
        other
    }

    pub fn db_url(&self) -> String {
        self.state.settings.database_url.to_string()
    }

    /// An anonymous GET. Anonymous reading pages are cached until the index has applied the
    /// latest change, so this first waits for the indexer, as a reader a moment later would.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        if !self.state.db.reader().is_closed() {
            self.indexed().await;
        }
        let response = app(self.state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// GET that must answer 200 with HTML; returns the body.
    pub async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}

/// The PostgreSQL server the suite runs against instead of SQLite, when the variable names
/// one (`.ci/run` sets it): `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_VAR: &str = "BRIGHTSPOTS_TEST_POSTGRES";

pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_VAR).ok().filter(|s| !s.is_empty())
}

/// A new, empty, migrated database of the backend under test: a SQLite file in `dir`, or
/// on PostgreSQL a database of its own (tests run in parallel), cloned from a template.
pub async fn fresh_database_url(dir: &Path) -> String {
    match postgres_server() {
        None => format!("sqlite:{}", dir.join("test.db").display()),
        Some(server) => postgres::fresh_database(&server).await,
    }
}

pub mod postgres {
    //! One database per test, cloned from a migrated template (0.2 s instead of a migration
    //! run); databases of test processes that have ended are dropped by the next run.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use sqlx::{Connection, PgConnection};
    use tokio::sync::OnceCell;

    /// Another URL on the same server.
    pub fn with_database(server: &str, name: &str) -> String {
        let mut url = url::Url::parse(server).expect("a postgres:// URL");
        url.set_path(name);
        url.to_string()
    }

    async fn template(server: &str) -> &'static str {
        static TEMPLATE: OnceCell<String> = OnceCell::const_new();
        TEMPLATE
            .get_or_init(|| async {
                // The template's name follows the migrations, so a changed schema gets a new one.
                let mut hash = 0xcbf2_9ce4_8422_2325_u64;
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
                let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
                files.sort();
                for file in files {
                    for b in std::fs::read(file).unwrap() {
                        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                    }
                }
                let name = format!("bs_tpl_{hash:016x}");
                let mut conn = PgConnection::connect(server).await.unwrap_or_else(|e| {
                    panic!("{}={server}: the PostgreSQL server does not answer: {e}", super::POSTGRES_VAR)
                });
                // Another test process may be making the same template.
                sqlx::query("select pg_advisory_lock(16979, 2)").execute(&mut conn).await.unwrap();
                let exists: bool =
                    sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                        .bind(&name)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                if !exists {
                    let building = format!("{name}_building");
                    sqlx::query(&format!("drop database if exists {building}")).execute(&mut conn).await.unwrap();
                    // A default collation unlike SQLite's byte order, on purpose: the schema
                    // must sort as SQLite does whatever the server's default.
                    sqlx::query(&format!(
                        "create database {building} template template0 encoding 'UTF8' locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'"
                    ))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                    let db = brightspots::store::Db::connect(&with_database(server, &building)).await.unwrap();
                    db.close().await;
                    sqlx::query(&format!("alter database {building} rename to {name}"))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
                sqlx::query("select pg_advisory_unlock(16979, 2)").execute(&mut conn).await.unwrap();
                drop_stale(server, &mut conn).await;
                conn.close().await.ok();
                name
            })
            .await
    }

    /// Drops the databases of test processes that are no longer running, several at a time
    /// (each drop waits for a checkpoint). Before any test of this process has a database: a
    /// drop holds a transaction id, which would hold back the change feed of running tests.
    async fn drop_stale(server: &str, conn: &mut PgConnection) {
        let names: Vec<String> =
            sqlx::query_scalar("select datname from pg_database where datname like 'bs\\_t\\_%'")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let stale = names.into_iter().filter(|name| {
            let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        });
        let mut drops = tokio::task::JoinSet::new();
        for name in stale {
            if drops.len() >= 8 {
                drops.join_next().await;
            }
            let server = server.to_string();
            drops.spawn(async move {
                if let Ok(mut c) = PgConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut c)
                        .await;
                }
            });
        }
        drops.join_all().await;
    }

    /// A new database for one test.
    pub async fn fresh_database(server: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let template = template(server).await;
        let name = format!(
            "bs_t_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(server).await.unwrap_or_else(|e| {
            panic!(
                "{}={server}: the PostgreSQL server does not answer: {e}",
                super::POSTGRES_VAR
            )
        });
        sqlx::query(&format!("create database {name} template {template}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        with_database(server, &name)
    }
}

/// Copies the seed catalog into a fresh directory that a test may break.
pub fn seed_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&seed_dir(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: axum::http::HeaderMap,
    /// The body as sent (`body` is it read as UTF-8, lossily).
    pub bytes: Vec<u8>,
}

/// A browser on the app: keeps cookies between requests.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: std::collections::BTreeMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: Default::default(),
        }
    }

    pub async fn request(&mut self, method: &str, path: &str, form: Option<String>) -> Resp {
        let body = form.map(|f| ("application/x-www-form-urlencoded", f.into_bytes()));
        self.send(method, path, body).await
    }

    /// A request with a body of any type, `(content type, bytes)`.
    pub async fn send(&mut self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", header.join("; "));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                req = req.header("content-type", content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = app(self.app.state.clone())
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        for c in response.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            headers,
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, None).await
    }

    /// POSTs exactly these fields (no CSRF token unless given).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.request("POST", path, Some(body)).await
    }

    /// POSTs these fields with the session's CSRF token, as the page's form would.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// The CSRF token the pages of this session carry.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/signin").await.body;
        let page = if page.contains("name=\"csrf\"") {
            page
        } else {
            self.get("/").await.body
        };
        csrf_in(&page).expect("a page with a CSRF token")
    }

    /// Signs in through the local form and returns the browser.
    pub async fn local(app: &'a TestApp, name: &str, role: &str, team: &str) -> Browser<'a> {
        let mut b = Browser::new(app);
        let token = csrf_in(&b.get("/signin").await.body).unwrap();
        let r = b
            .post(
                "/signin/local",
                &[
                    ("csrf", &token),
                    ("name", name),
                    ("role", role),
                    ("team", team),
                    ("next", "/me"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        b
    }
}

pub fn csrf_in(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..at + page[at..].find('"')?].to_string())
}

/// The form element of `field` (`id="f-{field}"`) up to where it closes.
pub fn field_block<'a>(page: &'a str, field: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"f-{field}\""))
        .unwrap_or_else(|| panic!("no field {field}: {page}"));
    let rest = &page[at..];
    let close = if page[..at].ends_with("<fieldset ") {
        "</fieldset>"
    } else {
        "</p>"
    };
    &rest[..rest.find(close).unwrap()]
}

/// Says once, outside the captured output, which backend this run tests; with the variable
/// set, fails when its server does not answer (CI must not pass by skipping).
#[tokio::test]
async fn postgres_suite() {
    use std::io::Write;
    match postgres_server() {
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "note: the PostgreSQL suite was skipped; set {POSTGRES_VAR}=postgres://postgres@127.0.0.1:5432/test to run it"
            );
        }
        Some(server) => {
            let url = postgres::fresh_database(&server).await;
            let db = Db::connect(&url)
                .await
                .expect("the PostgreSQL server answers");
            assert_eq!(db.dialect(), brightspots::store::Dialect::Postgres);
        }
    }
}

/// A Python virtualenv under `target/` with the packages of `requirements` (a path from the
/// repository's root) installed: made once per content of that file, by whichever test asks
/// first.
pub fn venv(requirements: &str) -> PathBuf {
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join(requirements);
    built_once("test-venv", &[&requirements], |dir| {
        run(std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir));
        run(std::process::Command::new(dir.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements));
    })
}

/// `node_modules` of the npm package in `package` (a folder from the repository's root, with
/// its `package-lock.json`), installed exactly as locked under `target/`: the folder to run
/// its scripts with (`NODE_PATH` is not needed: it holds a copy of the package's files).
pub fn node_package(package: &str) -> PathBuf {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join(package);
    let manifest = package.join("package.json");
    let lock = package.join("package-lock.json");
    let dir = built_once("test-node", &[&manifest, &lock], |dir| {
        std::fs::create_dir_all(dir).unwrap();
        for file in [&manifest, &lock] {
            std::fs::copy(file, dir.join(file.file_name().unwrap())).unwrap();
        }
        // Install scripts stay off: vnu-jar's would download a Java runtime; the system's is used.
        run(std::process::Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(dir));
    });
    // The scripts themselves are copied at every call: an edit to them needs no reinstall.
    for entry in std::fs::read_dir(&package).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "mjs") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// A folder under `target/` named for `prefix` and the content of `inputs`, made by `build`
/// once: by whichever test asks first, in a folder beside it renamed into place, so tests of
/// other processes that start together never see a half-made one.
fn built_once(prefix: &str, inputs: &[&Path], build: impl FnOnce(&Path)) -> PathBuf {
    let text: String = inputs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let hash = brightspots::auth::hash_token(&text);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let done = target.join(format!("{prefix}-{}", &hash[..12]));
    // Tests of one process that ask together would build in the same directory: one builds,
    // the others wait for it.
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    if done.exists() {
        return done;
    }
    let building = target.join(format!("{prefix}-{}.{}", &hash[..12], std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    build(&building);
    if std::fs::rename(&building, &done).is_err() {
        // Another process finished first.
        let _ = std::fs::remove_dir_all(&building);
    }
    done
}

/// Runs a setup command, failing the test with its output when it fails.
pub fn run(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Debian's Chromium, installed with apt-get when the machine does not have it yet (the tests
/// run as root on CI's machine; elsewhere, install the `chromium` package first).
pub fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        run(std::process::Command::new("apt-get").arg("update"));
        run(std::process::Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"));
    }
    path
}

/// A Java runtime for the Nu HTML Checker: the machine's, or Debian's headless JRE.
pub fn java() -> PathBuf {
    let found = std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        run(std::process::Command::new("apt-get").arg("update"));
        run(std::process::Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "default-jre-headless",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"));
    }
    PathBuf::from("java")
}

/// Everything logged on this thread while the returned guard lives, at every level, in
/// `.0` (a test's runtime is current-thread: what its requests log, it logs here).
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish(),
        );
        // Another test's thread may have cached a callsite as "never" with no subscriber of
        // its own meanwhile: ask every callsite again, with this one in place.
        tracing::callsite::rebuild_interest_cache();
        (captured, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// What a browser sends when the form `selector` of `page` is submitted as it stands: every
/// named input (checkboxes and radios only when checked), textarea and select, in order; no
/// submit button. For tests that change one field of a form and send the rest untouched.
pub fn form_values(page: &str, selector: &str) -> Vec<(String, String)> {
    use scraper::{Html, Selector};
    let doc = Html::parse_document(page);
    let form = doc
        .select(&Selector::parse(selector).unwrap())
        .next()
        .unwrap_or_else(|| panic!("no form {selector}"));
    let fields = Selector::parse("input[name], textarea[name], select[name]").unwrap();
    let selected = Selector::parse("option[selected]").unwrap();
    let mut out = Vec::new();
    for el in form.select(&fields) {
        let v = el.value();
        if v.attr("disabled").is_some() {
            continue; // a browser sends no disabled field
        }
        let name = v.attr("name").unwrap().to_string();
        let value = match v.name() {
            "textarea" => el.text().collect::<String>(),
            "select" => el
                .select(&selected)
                .next()
                .and_then(|o| o.value().attr("value"))
                .unwrap_or_default()
                .to_string(),
            _ => match v.attr("type").unwrap_or("text") {
                "checkbox" | "radio" if v.attr("checked").is_none() => continue,
                "submit" | "button" => continue,
                _ => v.attr("value").unwrap_or_default().to_string(),
            },
        };
        out.push((name, value));
    }
    out
}
