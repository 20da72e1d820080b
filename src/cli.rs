//! The `brightspots` command line: serve (the default), check, import, export, copy.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::{error, info, warn};

use crate::AppState;
use crate::config::{DatabaseUrl, Overrides, Settings};
use crate::content::{self, ContentError};
use crate::store::{CopyError, CopyOptions, Db, import_dir};

#[derive(Debug, Parser)]
#[command(
    name = "brightspots",
    version,
    about = "The knowledge hub of a networked improvement community of schools"
)]
pub struct Cli {
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the hub (the default); on an empty database, import the content directory first.
    Serve,
    /// Validate a catalog directory without writing anything [default DIR: the content directory].
    Check { dir: Option<PathBuf> },
    /// Validate a catalog directory and upsert all of it in one transaction, or nothing.
    Import { dir: Option<PathBuf> },
    /// Write the whole catalog to DIR in the content format.
    Export { dir: PathBuf },
    /// Copy the whole hub from one database to another (SQLite to PostgreSQL, or back), ids
    /// and all, and verify the copy before committing it. Stop the hub's writers first.
    /// Exits 2, copying nothing, when the target already has rows.
    Copy {
        /// The database to copy from: `sqlite:brightspots.db`, `postgres://…`
        #[arg(long)]
        from: String,
        /// The database to copy into (created for SQLite; migrated for either)
        #[arg(long)]
        to: String,
        /// Copy the sessions too, so that signed-in people stay signed in
        #[arg(long)]
        sessions: bool,
        /// Empty the target's tables first instead of refusing a target that has rows
        #[arg(long)]
        replace: bool,
    },
    /// Rebuild the search index from the database. With the hub stopped this rebuilds it here,
    /// with a progress bar; while a hub runs, it asks that hub to rebuild (admins only: it
    /// needs access to the database).
    Reindex,
    /// Manage people: `brightspots user grant EMAIL --role admin` makes the first administrator.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Write a generated catalog of N practices to DIR (for benchmarks; deterministic for a seed).
    Generate {
        #[arg(long)]
        practices: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Also write 300 distinct search queries as teachers type them, made from the
        /// generated catalog's vocabulary, one per line, to this file (for benchmarks:
        /// scripts/bench-http.sh).
        #[arg(long)]
        queries: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Give a person a role (creating their account if they never signed in; their name is
    /// taken from the provider at first sign-in).
    Grant {
        email: String,
        #[arg(long, value_parser = ["member", "coach", "admin"])]
        role: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "brightspots=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = match Settings::load(&cli.overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_errors(errors: &[ContentError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!(
        "{} problem{} found; nothing was imported.",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { dir } => {
            let dir = dir.unwrap_or_else(|| settings.content_dir.clone());
            // Practices are checked one at a time: a catalog of any size fits.
            let checked =
                content::CatalogReader::open(&dir, settings.min_cell()).and_then(|mut r| {
                    let practices = r.by_ref().count();
                    r.finish().map(|c| (practices, c))
                });
            match checked {
                Ok((practices, c)) => {
                    println!(
                        "{}: valid — {} practices, {} challenge areas, {} teams, {} adoptions, {} questions",
                        dir.display(),
                        practices,
                        c.areas.len(),
                        c.teams.len(),
                        c.adoptions.len(),
                        c.questions.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    print_errors(&errors);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Import { dir } => {
            let dir = dir.unwrap_or_else(|| settings.content_dir.clone());
            // The database is opened only once the catalog has something valid to write.
            let mut db = None;
            let bar = progress_bar("importing");
            let result = import_dir(
                async || {
                    let opened = db.insert(
                        Db::connect(&settings.database_url)
                            .await?
                            .with_image_policy(settings.image_policy()),
                    );
                    Ok((opened.begin_write().await?, opened.renderer().clone()))
                },
                &dir,
                settings.min_cell(),
                |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )
            .await;
            bar.finish_and_clear();
            if let Some(db) = db {
                db.close().await;
            }
            match result? {
                Ok(r) => {
                    println!(
                        "imported {}: {} practices new, {} revised, {} unchanged; {} adoptions; {} questions; {} files",
                        dir.display(),
                        r.practices_created,
                        r.practices_revised,
                        r.practices_unchanged,
                        r.adoptions,
                        r.questions,
                        r.files
                    );
                    println!("{}", r.designs_line());
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    print_errors(&errors);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Export { dir } => {
            let db = Db::connect(&settings.database_url).await?;
            let catalog = crate::store::export_catalog(&db).await?;
            content::write_dir(&dir, &catalog)?;
            println!(
                "exported {} practices to {}",
                catalog.practices.len(),
                dir.display()
            );
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy {
            from,
            to,
            sessions,
            replace,
        } => copy(from.into(), to.into(), CopyOptions { sessions, replace }).await,
        Command::Serve => serve(settings).await,
        Command::Reindex => reindex(settings).await,
        Command::User {
            action: UserAction::Grant { email, role },
        } => {
            use crate::domain::Vocabulary;
            let role = crate::domain::Role::parse(&role).map_err(anyhow::Error::msg)?;
            let email = email.trim().to_lowercase();
            if !email.contains('@') {
                eprintln!("error: \"{email}\" is not an email address");
                return Ok(ExitCode::from(2));
            }
            let db = Db::connect(&settings.database_url).await?;
            let id = match db.user_id_by_email(&email).await? {
                Some(id) => id,
                None => {
                    let name = email.split('@').next().unwrap_or_default().to_string();
                    db.create_person(&email, &name).await?
                }
            };
            db.set_role(id, role).await?;
            db.close().await;
            println!("{email} is now {}", role.label().to_lowercase());
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            practices,
            seed,
            out,
            queries,
        } => {
            if let Some(path) = &queries {
                let lines: String = crate::generate::natural_queries(300)
                    .into_iter()
                    .map(|q| q + "\n")
                    .collect();
                std::fs::write(path, lines)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            // Practices are written as they are generated: a million of them do not fit in
            // memory comfortably. The rest (network, adoptions) is small and written last.
            std::fs::create_dir_all(out.join("practices"))?;
            let bar = indicatif::ProgressBar::new(practices as u64);
            let mut failed = None;
            let rest = crate::generate::stream(practices, seed, |p| {
                if failed.is_none()
                    && let Err(e) = content::write_practice_file(&out, &p)
                {
                    failed = Some(e);
                }
                bar.inc(1);
            });
            bar.finish_and_clear();
            if let Some(e) = failed {
                return Err(anyhow::anyhow!("cannot write into {}: {e}", out.display()));
            }
            content::write_shared_files(&out, &rest)?;
            println!("wrote {practices} generated practices to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn copy(from: DatabaseUrl, to: DatabaseUrl, opts: CopyOptions) -> anyhow::Result<ExitCode> {
    // Printed through `Debug`, which hides a password.
    if from == to {
        eprintln!("error: --from and --to name the same database ({from:?})");
        return Ok(ExitCode::from(2));
    }
    info!("opening the source {from:?}; pending migrations are applied to it, as `serve` would");
    let source = Db::connect(&from).await?;
    let target = Db::connect(&to).await?;
    let result = crate::store::copy(&source, &target, opts).await;
    source.close().await;
    target.close().await;
    match result {
        Ok(report) => {
            println!("copied {from:?} to {to:?}:");
            for (table, rows) in &report.tables {
                println!("  {table:<26} {rows:>10}");
            }
            println!(
                "verified: equal row counts and SHA-256 of every table, and byte-identical exports"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ CopyError::NotEmpty(_)) => {
            eprintln!("error: {e}; nothing was copied");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    settings.check_serving()?;
    for warning in settings.providers.iter().flat_map(|p| p.warnings()) {
        tracing::warn!("{warning}");
    }
    let db = Db::connect_with(
        &settings.database_url,
        settings.write_wait(),
        settings.database_max_connections,
    )
    .await?
    .with_image_policy(settings.image_policy());
    if db.is_empty().await? {
        seed(&db, &settings).await?;
    }
    let bind = settings.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    let state = AppState::start(db.clone(), settings)?;
    println!(
        "Bright Spots is serving on http://{}/",
        listener.local_addr()?
    );
    crate::serve(listener, state.clone(), shutdown_signal()).await?;
    state.shutdown().await;
    db.close().await;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, thiserror::Error)]
#[error("the database was seeded by another instance")]
struct SeededMeanwhile;

/// First start: load the seed catalog so a newcomer sees a real hub.
async fn seed(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.content_dir;
    if !dir.exists() {
        warn!(dir = %dir.display(), "the database is empty and there is no content directory to import");
        return Ok(());
    }
    // Several instances may start together on a new database: the one that takes the writer
    // first imports, the others find practices once they have it.
    let imported = import_dir(
        async || {
            let tx = db.begin_write().await?;
            if !db.is_empty().await? {
                anyhow::bail!(SeededMeanwhile);
            }
            Ok((tx, db.renderer().clone()))
        },
        dir,
        settings.min_cell(),
        |_, _| {},
    )
    .await;
    if imported
        .as_ref()
        .is_err_and(|e| e.downcast_ref::<SeededMeanwhile>().is_some())
    {
        info!("another instance imported the seed catalog");
        return Ok(());
    }
    match imported? {
        Ok(r) => {
            info!(dir = %dir.display(), practices = r.practices_created, "imported the seed catalog");
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                error!("{e}");
            }
            anyhow::bail!(
                "the content directory {} has {} problem(s); fix them (see `brightspots check`) and start again",
                dir.display(),
                errors.len()
            )
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A bar on stderr (drawn only on a terminal) that counts practices.
fn progress_bar(what: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} practices ({elapsed})",
        )
        .expect("progress template")
        .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

async fn reindex(settings: Settings) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&settings.database_url).await?;
    let dir = settings.index_dir.clone();
    let bar = progress_bar("indexing");
    let result = crate::search::rebuild_offline(&dir, db.clone(), |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish();
    let code = match result {
        Ok(n) => {
            println!(
                "rebuilt the search index in {}: {n} practices",
                settings.index_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(crate::search::RebuildError::InUse) => {
            db.request_reindex().await?;
            println!(
                "a running hub holds {}; it has been asked to rebuild the index and will do so now",
                settings.index_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(crate::search::RebuildError::Other(e)) => return Err(e),
    };
    db.close().await;
    Ok(code)
}
