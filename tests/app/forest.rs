//! "Across every school that tried it": the forest chart beside the replication ledger, read
//! through its data table — what it lists, its summary, when it pools, and what it never shows.

use brightspots::content::AdoptionDoc;
use brightspots::domain::{AdoptionStatus, Ingredient, Measure, Outcome, Slug, Unit};
use brightspots::store::sql;

use crate::helpers::{Browser, TestApp};

/// Lincoln Elementary's practice; the seed has Riverside adopting it on the same measure and
/// Pine Valley on a measure of its own.
const SLUG: &str = "number-talks-sentence-frames";
const MEASURE: &str = "Exit slips with a complete written explanation";
const PAGE: &str = "/practices/number-talks-sentence-frames";

/// A student-outcome measure made from one of the seed's, so that fields added to `Measure`
/// keep their values.
async fn measure(app: &TestApp, name: &str, baseline: f64, result: f64, n: i64) -> Measure {
    let target = app.state.db.edit_target(SLUG).await.unwrap().unwrap();
    let mut m = target.doc.measures[0].clone();
    assert_eq!(m.ingredient, Ingredient::StudentOutcome);
    m.name = name.into();
    m.baseline = baseline;
    m.result = result;
    m.n = n;
    m
}

/// Records an adoption of `practice` by `team` as the adopting team would.
async fn adopt(
    app: &TestApp,
    practice: &str,
    team: &str,
    status: AdoptionStatus,
    outcome: Option<Outcome>,
    adaptations: Option<&str>,
    measures: Vec<Measure>,
) {
    let user = user(app).await;
    let doc = AdoptionDoc {
        practice: Slug::parse(practice).unwrap(),
        team: Slug::parse(team).unwrap(),
        status,
        started_on: None,
        aspects_kept: vec![1, 2, 3],
        adaptations: adaptations.map(String::from),
        outcome,
        measures,
    };
    app.state.db.save_adoption(user, &doc).await.unwrap();
}

/// A signed-up person to record changes as.
async fn user(app: &TestApp) -> i64 {
    let find = || {
        sql::query_scalar::<i64>("select id from users where name = 'Forest Tester'")
            .fetch_optional(app.state.db.reader())
    };
    if let Some(id) = find().await.unwrap() {
        return id;
    }
    Browser::local(app, "Forest Tester", "member", "maple-grove-es-step").await;
    find().await.unwrap().unwrap()
}

/// Runs one statement outside the store, as a damaged or hand-edited database would hold.
async fn execute(app: &TestApp, statement: &str, binds: &[i64]) {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let mut q = sql::query(statement);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// The chart's part of the page: from its heading to the end of the ledger.
fn forest(page: &str) -> &str {
    let start = page
        .find(r#"<div class="forest" id="forest">"#)
        .unwrap_or_else(|| panic!("no forest chart: {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap()]
}

/// The cells of every body row of every forest table, as text.
fn rows(forest: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for table in forest.split(r#"<table class="forest-table">"#).skip(1) {
        let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
        for row in body.split("<tr").skip(1) {
            out.push(cells_of(row));
        }
    }
    out
}

/// The text of each `<th>`/`<td>` of one row, its inner tags replaced by one space.
fn cells_of(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut rest = row;
    while let Some(at) = rest.find(['<']) {
        let tail = &rest[at..];
        if tail.starts_with("<th") || tail.starts_with("<td") {
            let open_end = tail.find('>').unwrap() + 1;
            let close = tail.find("</t").unwrap();
            let inner = &tail[open_end..close];
            cells.push(text(inner));
            rest = &tail[close + 4..];
        } else {
            rest = &tail[1..];
        }
    }
    cells
}

fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maple Grove declined, Ridgeline discontinued (with its reason), Harbor High only exploring:
/// beside the seed's Riverside (same measure) and Pine Valley (a measure of its own).
async fn known_practice() -> TestApp {
    let app = TestApp::seeded().await;
    let declined = measure(
        &app,
        "exit slips WITH a complete   written explanation",
        40.0,
        35.0,
        50,
    )
    .await;
    adopt(
        &app,
        SLUG,
        "maple-grove-es-step",
        AdoptionStatus::Adopted,
        Some(Outcome::Declined),
        None,
        vec![declined],
    )
    .await;
    let stopped = measure(&app, MEASURE, 30.0, 33.0, 25).await;
    adopt(
        &app,
        SLUG,
        "ridgeline-hs-step",
        AdoptionStatus::Discontinued,
        Some(Outcome::NoChange),
        Some("Our block schedule left no daily ten minutes."),
        vec![stopped],
    )
    .await;
    let exploring = measure(&app, MEASURE, 12.0, 87.0, 44).await;
    adopt(
        &app,
        SLUG,
        "harbor-hs-step",
        AdoptionStatus::Exploring,
        None,
        None,
        vec![exploring],
    )
    .await;
    app
}

#[tokio::test]
async fn forest_table_lists_each_school_with_what_happened() {
    let app = known_practice().await;
    let page = app.page(PAGE).await;
    let f = forest(&page);
    assert!(f.contains("<h3 id=\"s-forest\">Across every school that tried it</h3>"));
    assert!(f.contains(r#"role="img""#) && f.contains("<title id=\"forest-1-title\">"));
    let rows = rows(f);
    let row = |school: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r[0].starts_with(school))
            .unwrap_or_else(|| panic!("no row for {school}: {rows:?}"))
            .clone()
    };
    let cols = |r: Vec<String>| r[1..].to_vec();
    // School (with its verdict), district, status, outcome, baseline, result, change, n, kept.
    assert_eq!(
        row("Lincoln Elementary")[0],
        "Lincoln Elementary originating school"
    );
    assert_eq!(
        cols(row("Lincoln Elementary")),
        [
            "Harbor Unified School District",
            "Originating school",
            "its own Confirm-phase evidence",
            "36%",
            "69%",
            "+33 percentage points",
            "138",
            "all (it wrote them)"
        ]
    );
    assert_eq!(
        row("Riverside Middle School")[0],
        "Riverside Middle School improved"
    );
    assert_eq!(row("Riverside Middle School")[6], "+23 percentage points");
    assert_eq!(row("Riverside Middle School")[7], "87");
    // Declined: listed as not improving, drawn the same size in its own shape.
    assert_eq!(
        row("Maple Grove Elementary")[0],
        "Maple Grove Elementary did not improve: declined"
    );
    assert_eq!(
        row("Maple Grove Elementary")[3..9],
        [
            "Declined",
            "40%",
            "35%",
            "−5 percentage points",
            "50",
            "3 of 5"
        ]
    );
    // Discontinued, with the reason the team gave.
    let ridgeline = row("Ridgeline High School");
    assert_eq!(
        ridgeline[0],
        "Ridgeline High School did not improve: discontinued"
    );
    assert_eq!(
        ridgeline[2],
        "Discontinued Reason given: Our block schedule left no daily ten minutes."
    );
    assert!(f.contains("forest-not-improved") && f.contains("forest-originating"));
    // Pine Valley measured something else: its own panel.
    assert_eq!(
        row("Pine Valley K-8 School")[6],
        "+31 percentage points",
        "{rows:?}"
    );
    // Exploring is not trying: not charted.
    assert!(
        rows.iter().all(|r| !r[0].starts_with("Harbor High")),
        "{rows:?}"
    );
    assert!(!f.contains("87%") && !f.contains("n = 44"));
    assert_eq!(rows.len(), 5, "{rows:?}");
    // The ledger says why Ridgeline stopped too.
    assert!(page.contains("Reason given: Our block schedule left no daily ten minutes."));
}

#[tokio::test]
async fn forest_summary_counts_schools_and_students_once() {
    let app = known_practice().await;
    let f = app.page(PAGE).await;
    let f = forest(&f);
    // Tried: Pine Valley, Riverside, Maple Grove, Ridgeline (Harbor High only explores).
    // Improved: Pine Valley and Riverside. Students: the latest student-outcome n of Lincoln
    // (138), Pine Valley (64), Riverside (87), Maple Grove (50) and Ridgeline (25).
    assert!(
        f.contains("Improved at 2 of 4 schools that tried it · 364 students covered"),
        "{f}"
    );
}

#[tokio::test]
async fn forest_pools_only_comparable_measures() {
    let app = known_practice().await;
    let f = app.page(PAGE).await;
    let f = forest(&f);
    // The exit-slip panel: every row the same measure in percent, so an n-weighted mean:
    // (33 × 138 + 23 × 87 − 5 × 50 + 3 × 25) / 300.
    assert!(
        f.contains("Pooled change: +21.27 percentage points (the mean change across 4 schools, weighted by n; 300 students)."),
        "{f}"
    );
    // Across the two panels nothing is pooled, and the page says why.
    assert!(f.contains(
        "The schools did not all measure the same thing, so each measure is charted on its own. These measures are not comparable, so no pooled figure is shown."
    ));
    assert_eq!(
        f.matches("Pooled change").count(),
        1,
        "Pine Valley alone: no pool"
    );

    // One school reporting the same measure as a count: no pooled figure in that panel.
    let app = TestApp::seeded().await;
    let mut count = measure(&app, MEASURE, 4.0, 9.0, 30).await;
    count.unit = Unit::Count;
    adopt(
        &app,
        SLUG,
        "maple-grove-es-step",
        AdoptionStatus::Adopted,
        Some(Outcome::Improved),
        None,
        vec![count],
    )
    .await;
    let f = app.page(PAGE).await;
    let f = forest(&f);
    let first = &f[..f.find("forest-2-name").unwrap()];
    assert!(!first.contains("Pooled change"), "{first}");
    assert!(first.contains(
        "These measures are not comparable, so no pooled figure is shown. The schools reported this measure in different units."
    ));

    // A practice whose adopters all measured what the originating team did: pooled, and no
    // "not comparable" anywhere.
    let app = TestApp::seeded().await;
    let m = measure(&app, MEASURE, 50.0, 60.0, 40).await;
    execute(
        &app,
        "delete from measures where adoption_id in (select a.id from adoptions a join teams t on t.id = a.team_id where t.slug = 'pine-valley-k8-step')",
        &[],
    )
    .await;
    adopt(
        &app,
        SLUG,
        "maple-grove-es-step",
        AdoptionStatus::Adopted,
        Some(Outcome::Improved),
        None,
        vec![m],
    )
    .await;
    let f = app.page(PAGE).await;
    let f = forest(&f);
    assert!(f.contains("Pooled change: +"), "{f}");
    assert!(!f.contains("not comparable"), "{f}");
}

#[tokio::test]
async fn forest_shows_nothing_unvetted_hidden_or_below_the_minimum_cell() {
    let app = known_practice().await;
    // A newer revision under review with other figures: not public.
    let target = app.state.db.edit_target(SLUG).await.unwrap().unwrap();
    let mut doc = target.doc.clone();
    doc.measures[0].result = 91.0;
    doc.measures[0].n = 444;
    let author = user(&app).await;
    app.state
        .db
        .save_draft(author, &doc, Some(target.current_revision_id), true)
        .await
        .unwrap();
    // Below the minimum cell size (10), written past every check: on an adoption and on the
    // practice's public revision.
    let (adoption, revision): (i64, i64) = sql::query_as(
        r#"select a.id, p.public_revision_id from adoptions a join practices p on p.id = a.practice_id
           join teams t on t.id = a.team_id where p.slug = $1 and t.slug = 'riverside-ms-step'"#,
    )
    .bind(SLUG)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    for (column, owner) in [("adoption_id", adoption), ("revision_id", revision)] {
        let statement = format!(
            r#"insert into measures ({column}, position, name, ingredient, unit, instrument, baseline, result, n, period)
               values ($1, 0, '{MEASURE}', 'student-outcome', 'percent', 'tiny', 11, 97, 3, 'p')"#
        );
        execute(&app, &statement, &[owner]).await;
    }
    // An adoption of a practice that is not public.
    let secret = measure(&app, MEASURE, 21.0, 82.0, 333).await;
    adopt(
        &app,
        "peer-learning-walks",
        "maple-grove-es-step",
        AdoptionStatus::Adopted,
        Some(Outcome::Improved),
        None,
        vec![secret],
    )
    .await;

    let page = app.page(PAGE).await;
    let f = forest(&page);
    let rows = rows(f);
    for r in &rows {
        let n: i64 = r[7].parse().unwrap();
        assert!(n >= 10, "{r:?}");
        assert!(r[4] != "11%" && r[5] != "97%" && r[5] != "91%", "{r:?}");
    }
    for hidden in ["97%", "n = 3", "91%", "444", "82%", "333", "n = 44"] {
        assert!(!f.contains(hidden), "{hidden} in {f}");
    }
    assert!(!page.contains("(n = 3)"), "the ledger leaves it out too");
    assert!(f.contains("Improved at 2 of 4 schools that tried it · 364 students covered"));
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(
        app.get("/practices/peer-learning-walks").await.0,
        axum::http::StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forest_waits_for_a_school_beyond_exploring() {
    let app = TestApp::seeded().await;
    // Bayview's practice: no adoptions in the seed.
    let slug = "reciprocal-teaching-roles";
    let m = measure(&app, "Students at benchmark", 38.0, 51.0, 40).await;
    adopt(
        &app,
        slug,
        "lincoln-es-step",
        AdoptionStatus::Exploring,
        None,
        None,
        vec![m],
    )
    .await;
    let page = app.page(&format!("/practices/{slug}")).await;
    let f = forest(&page);
    assert!(
        f.contains("No adopting school has gone beyond exploring it yet."),
        "{f}"
    );
    assert!(!f.contains("Improved at") && !f.contains("<svg") && rows(f).is_empty());
}
