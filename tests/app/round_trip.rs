use brightspots::content::{load_dir, write_dir};
use brightspots::store::sql;
use brightspots::store::{Db, export_catalog, import_catalog};

use crate::helpers::{TestApp, seed_copy, seed_dir};

fn read_tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        out.push((
            entry.strip_prefix(dir).unwrap().display().to_string(),
            std::fs::read(&entry).unwrap(),
        ));
    }
    out.sort();
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p))
        } else {
            files.push(p)
        }
    }
    files
}

#[tokio::test]
async fn import_export_import_export_is_byte_identical() {
    let a = TestApp::empty().await;
    let min = a.state.settings.min_cell();
    import_catalog(&a.state.db, &load_dir(&seed_dir(), min).unwrap())
        .await
        .unwrap();
    let out1 = tempfile::tempdir().unwrap();
    write_dir(out1.path(), &export_catalog(&a.state.db).await.unwrap()).unwrap();

    let b = TestApp::empty().await;
    import_catalog(&b.state.db, &load_dir(out1.path(), min).unwrap())
        .await
        .unwrap();
    let out2 = tempfile::tempdir().unwrap();
    write_dir(out2.path(), &export_catalog(&b.state.db).await.unwrap()).unwrap();

    let (t1, t2) = (read_tree(out1.path()), read_tree(out2.path()));
    assert_eq!(t1.len(), 21, "4 toml files and 17 practices");
    assert_eq!(t1, t2);
    // The seed catalog is kept in the canonical layout, so exporting it changes nothing.
    assert_eq!(t1, read_tree(&seed_dir()));
}

#[tokio::test]
async fn reimporting_unchanged_files_makes_no_revision_and_edits_make_one() {
    let app = TestApp::seeded().await;
    let dir = seed_copy();
    let min = app.state.settings.min_cell();
    let r = import_catalog(&app.state.db, &load_dir(dir.path(), min).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (
            r.practices_created,
            r.practices_revised,
            r.practices_unchanged
        ),
        (0, 0, 17)
    );

    let path = dir.path().join("practices/cognate-word-walls.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("## What it is\n\n", "## What it is\n\nRevised opening. ", 1),
    )
    .unwrap();
    let r = import_catalog(&app.state.db, &load_dir(dir.path(), min).unwrap())
        .await
        .unwrap();
    assert_eq!((r.practices_revised, r.practices_unchanged), (1, 16));
    let html = app.page("/practices/cognate-word-walls").await;
    assert!(
        html.contains("Revised opening.") && html.contains("Revision 2."),
        "vetted edit is public"
    );
    let changes: i64 = sql::query_scalar("select count(*) from changes c join practices p on p.id = c.practice_id where p.slug = 'cognate-word-walls'")
        .fetch_one(app.state.db.reader()).await.unwrap();
    assert_eq!(
        changes, 2,
        "one change per write, none for the unchanged import"
    );
}

#[tokio::test]
async fn a_submitted_revision_leaves_the_vetted_one_public() {
    let app = TestApp::seeded().await;
    let dir = seed_copy();
    let path = dir.path().join("practices/cognate-word-walls.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen("status = \"vetted\"", "status = \"submitted\"", 1)
        .replacen("## What it is\n\n", "## What it is\n\nUnreviewed text. ", 1);
    std::fs::write(&path, text).unwrap();
    import_catalog(
        &app.state.db,
        &load_dir(dir.path(), app.state.settings.min_cell()).unwrap(),
    )
    .await
    .unwrap();
    let html = app.page("/practices/cognate-word-walls").await;
    assert!(!html.contains("Unreviewed text."));
    assert!(html.contains("A revised version is being reviewed"));
}

#[tokio::test]
async fn export_reflects_the_database_and_removes_stale_files() {
    let app = TestApp::seeded().await;
    let out = seed_copy();
    std::fs::write(out.path().join("practices/stale-practice.md"), "old").unwrap();
    write_dir(out.path(), &export_catalog(&app.state.db).await.unwrap()).unwrap();
    assert!(!out.path().join("practices/stale-practice.md").exists());
    let again = Db::connect(&app.db_url()).await.unwrap();
    assert_eq!(export_catalog(&again).await.unwrap().practices.len(), 17);
}

/// A team with no public practice changes no search document, yet its cached anonymous page
/// must follow a rename imported from network.toml.
#[tokio::test]
async fn renaming_a_team_without_public_practices_updates_its_cached_page() {
    let app = TestApp::empty().await;
    let dir = seed_copy();
    // Every imported adoption is a change of its practice: without them, the rename is the
    // only thing the second import writes.
    std::fs::write(dir.path().join("adoptions.toml"), "").unwrap();
    let network = dir.path().join("network.toml");
    let min = app.state.settings.min_cell();
    let team = |name: &str| {
        format!(
            "\n[[team]]\nslug = \"quiet-team\"\nname = \"{name}\"\nschool = \"lincoln-es\"\n\
             cycle = \"2025-26\"\nchallenge_area = \"academic-discourse\"\naim = \"To be set.\"\n"
        )
    };
    let seed = std::fs::read_to_string(&network).unwrap();
    std::fs::write(&network, format!("{seed}{}", team("Quiet Crew"))).unwrap();
    import_catalog(&app.state.db, &load_dir(dir.path(), min).unwrap())
        .await
        .unwrap();
    assert!(app.page("/teams/quiet-team").await.contains("Quiet Crew"));

    std::fs::write(&network, format!("{seed}{}", team("Loud Crew"))).unwrap();
    import_catalog(&app.state.db, &load_dir(dir.path(), min).unwrap())
        .await
        .unwrap();
    let html = app.page("/teams/quiet-team").await;
    assert!(
        html.contains("Loud Crew") && !html.contains("Quiet Crew"),
        "{html}"
    );
}

/// A backup is what the web made: an export of a hub holding every status — a draft with
/// nothing but its title, a returned practice, an archived one — checks, imports into a new
/// hub and exports again unchanged.
#[tokio::test]
async fn an_export_of_every_status_the_web_makes_imports_and_round_trips() {
    use crate::helpers::Browser;
    use axum::http::StatusCode;

    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let r = rosa
        .submit(
            "/share",
            &[
                ("title", "Just a title"),
                ("team", "bayview-ms-step"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a draft may lack all but its title (its stage too): {}",
        r.body
    );
    // A heading that would start a section in the file is refused, with what to type instead.
    let r = rosa
        .submit(
            "/share",
            &[
                ("title", "Headings"),
                ("team", "bayview-ms-step"),
                ("stage", "promising"),
                ("s-evidence", "Intro.\n\n## Results\nRose."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        crate::helpers::field_block(&r.body, "s-evidence")
            .contains("use &#34;### &#34; for a heading inside a section"),
        "{}",
        r.body
    );

    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let page = ada.get("/review/peer-learning-walks").await.body;
    let revision = crate::review::field(&page, "revision");
    let r = ada
        .submit(
            "/review/peer-learning-walks",
            &crate::review::rubric(&revision, "return", "Name the focus of each walk."),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = ada
        .submit(
            "/review/two-by-ten-conversations/archive",
            &[("comment", "Retired.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let min = app.state.settings.min_cell();
    let out1 = tempfile::tempdir().unwrap();
    write_dir(out1.path(), &export_catalog(&app.state.db).await.unwrap()).unwrap();
    let statuses: Vec<String> = read_tree(out1.path())
        .iter()
        .filter_map(|(_, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            text.lines()
                .find(|l| l.starts_with("status = "))
                .map(String::from)
        })
        .collect();
    for s in ["draft", "returned", "vetted", "archived"] {
        assert!(
            statuses.contains(&format!("status = \"{s}\"")),
            "{s}: {statuses:?}"
        );
    }
    let catalog = load_dir(out1.path(), min).expect("an export always checks");
    let b = TestApp::empty().await;
    import_catalog(&b.state.db, &catalog).await.unwrap();
    let out2 = tempfile::tempdir().unwrap();
    write_dir(out2.path(), &export_catalog(&b.state.db).await.unwrap()).unwrap();
    assert_eq!(read_tree(out1.path()), read_tree(out2.path()));
}
