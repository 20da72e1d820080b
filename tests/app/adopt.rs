//! Adoption through the real router: the replicated rule at its edges, search reflecting
//! adoptions, who may adopt, and the content-format round trip.

use axum::http::StatusCode;
use brightspots::store::sql;

use crate::helpers::{Browser, TestApp, field_block};

/// The practice under test: Bayview Middle School's, with no adoptions in the seed.
const SLUG: &str = "reciprocal-teaching-roles";

pub(crate) async fn aspect_count(app: &TestApp) -> usize {
    app.state
        .db
        .edit_target(SLUG)
        .await
        .unwrap()
        .unwrap()
        .doc
        .essential_aspects()
        .len()
}

/// An adoption form: `kept` aspects (1-based), an outcome, and one measure of `ingredient`.
pub(crate) fn adoption(
    team: &str,
    status: &str,
    kept: &[usize],
    outcome: &str,
    ingredient: &str,
    n: &str,
) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("team".into(), team.into()),
        ("status".into(), status.into()),
        ("started_on".into(), "2026-09-08".into()),
        (
            "adaptations".into(),
            "Shorter texts for the first two weeks.".into(),
        ),
        ("outcome".into(), outcome.into()),
        ("m-name".into(), "Students at benchmark".into()),
        ("m-ingredient".into(), ingredient.into()),
        ("m-unit".into(), "percent".into()),
        ("m-instrument".into(), "Fall and winter benchmark".into()),
        ("m-baseline".into(), "38".into()),
        ("m-result".into(), "51".into()),
        ("m-n".into(), n.into()),
        ("m-period".into(), "Fall 2026".into()),
        ("action".into(), "save".into()),
    ];
    for k in kept {
        f.push(("aspect".into(), k.to_string()));
    }
    f
}

pub(crate) async fn send(b: &mut Browser<'_>, fields: &[(String, String)]) -> crate::helpers::Resp {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.submit(&format!("/practices/{SLUG}/adopt"), &refs).await
}

async fn stage(app: &TestApp) -> String {
    sql::query_scalar("select stage from practices where slug = $1")
        .bind(SLUG)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    sql::query_scalar("select count(*) from practice_events e join practices p on p.id = e.practice_id where p.slug = $1 and e.kind = $2")
        .bind(SLUG)
        .bind(kind)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// An improving adoption by the originating school's second team, as an import brings it.
fn home_school_adoption(aspects: u32) -> brightspots::content::AdoptionDoc {
    use brightspots::domain::{AdoptionStatus, Ingredient, Measure, Outcome, Slug, Unit};
    brightspots::content::AdoptionDoc {
        practice: Slug::parse(SLUG).unwrap(),
        team: Slug::parse("bayview-ms-literacy").unwrap(),
        status: AdoptionStatus::Adopted,
        started_on: None,
        aspects_kept: (1..=aspects).collect(),
        adaptations: None,
        outcome: Some(Outcome::Improved),
        measures: vec![Measure {
            name: "Students at benchmark".into(),
            ingredient: Ingredient::StudentOutcome,
            instrument: "Benchmark".into(),
            unit: Unit::Percent,
            baseline: 38.0,
            result: 51.0,
            n: 40,
            period: "Fall 2026".into(),
            design: Default::default(),
            better: Default::default(),
            comparison: None,
            p_value: None,
        }],
    }
}

#[tokio::test]
async fn replicated_is_earned_at_its_edges_and_search_follows() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    assert!(all.len() >= 2);
    // A second team at the originating school (Bayview Middle School).
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"insert into teams (slug, name, school_id, cycle, challenge_area_id, aim)
           select 'bayview-ms-literacy', 'Bayview literacy team', school_id, cycle, challenge_area_id, aim
           from teams where slug = 'bayview-ms-step'"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut lincoln = Browser::local(&app, "Lina (Lincoln)", "member", "lincoln-es-step").await;
    let mut pine = Browser::local(&app, "Pat (Pine Valley)", "member", "pine-valley-k8-step").await;
    let mut home = Browser::local(
        &app,
        "Hana (Bayview literacy)",
        "member",
        "bayview-ms-literacy",
    )
    .await;

    // One improving school: not replicated.
    let r = send(
        &mut lincoln,
        &adoption(
            "lincoln-es-step",
            "adopted",
            &all,
            "improved",
            "student-outcome",
            "40",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(stage(&app).await, "confirmed");

    // The originating school's own second team may not adopt it on the web; one that came in
    // another way (an imported adoptions file) does not count.
    let r = send(
        &mut home,
        &adoption(
            "bayview-ms-literacy",
            "adopted",
            &all,
            "improved",
            "student-outcome",
            "40",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let hana: i64 = sql::query_scalar("select id from users where name like 'Hana%'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    app.state
        .db
        .save_adoption(hana, &home_school_adoption(all.len() as u32))
        .await
        .unwrap();
    assert_eq!(stage(&app).await, "confirmed");

    // A second school that dropped one essential aspect: still not replicated.
    let dropped = &all[1..];
    let r = send(
        &mut pine,
        &adoption(
            "pine-valley-k8-step",
            "adapted",
            dropped,
            "improved",
            "student-outcome",
            "30",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app).await, "confirmed");

    // Improvement shown only on a teaching-practice measure does not count either.
    let r = send(
        &mut pine,
        &adoption(
            "pine-valley-k8-step",
            "adopted",
            &all,
            "improved",
            "teaching-practice",
            "30",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app).await, "confirmed");

    // Two other schools, every aspect kept, a student outcome improved: replicated.
    let r = send(
        &mut pine,
        &adoption(
            "pine-valley-k8-step",
            "adopted",
            &all,
            "improved",
            "student-outcome",
            "30",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app).await, "replicated");
    assert_eq!(events(&app, "replicated").await, 1);
    let page = app.page(&format!("/practices/{SLUG}")).await;
    assert!(page.contains("badge-replicated"));
    assert!(page.contains("Replication ledger") && page.contains("Pine Valley"));
    assert!(
        page.contains(&format!("{} of {}", all.len(), all.len())),
        "fidelity in the ledger"
    );
    assert!(
        page.contains("forest-1-title"),
        "the chart across every school that tried it"
    );

    // Search follows: the stage facet, the schools-like-mine facet, the most-adopted sort.
    app.indexed().await;
    let (_, body) = app.get("/api/v1/search?stage=replicated&per_page=50").await;
    assert!(body.contains(SLUG), "{body}");
    let (_, body) = app
        .get("/api/v1/search?level=k-8&locale=rural&per_page=50")
        .await;
    assert!(body.contains(SLUG), "worked in a rural K-8 school: {body}");
    let (_, body) = app.get("/api/v1/search?sort=adopted&per_page=1").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["hits"][0]["slug"], SLUG, "{body}");
    assert_eq!(json["hits"][0]["adoption_count"], 3);

    // One school turns to declined: replicated is lost, and the quarterly review says so.
    let r = send(
        &mut lincoln,
        &adoption(
            "lincoln-es-step",
            "discontinued",
            &all,
            "declined",
            "student-outcome",
            "40",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(stage(&app).await, "confirmed");
    assert_eq!(events(&app, "unreplicated").await, 1);
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    coach
        .submit("/plc", &[("quarter", "2026-Q4"), ("held_on", "2026-12-10")])
        .await;
    let plc = coach.get("/plc/2026-Q4").await.body;
    assert!(
        plc.contains("reached replicated") && plc.contains("lost replicated"),
        "{plc}"
    );
    app.indexed().await;
    let (_, body) = app.get("/api/v1/search?stage=replicated&per_page=50").await;
    assert!(!body.contains(SLUG));

    // The originating team sees the adoptions; the adopters see what they still owe.
    let mut owner = Browser::local(&app, "Omar (Bayview)", "member", "bayview-ms-step").await;
    let me = owner.get("/me").await.body;
    assert!(me.contains("adopted elsewhere") && me.contains("Pine Valley"));
    assert!(
        app.page("/teams/bayview-ms-step")
            .await
            .contains("Pine Valley")
    );
    let r = send(&mut lincoln, &{
        let mut f = adoption(
            "lincoln-es-step",
            "testing",
            &all,
            "",
            "student-outcome",
            "40",
        );
        f.retain(|(k, _)| !k.starts_with("m-"));
        f
    })
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let me = lincoln.get("/me").await.body;
    assert!(
        me.contains("Still to report: your own measures (baseline and result) and the outcome"),
        "{me}"
    );
}

#[tokio::test]
async fn one_adoption_per_team_kept_over_time_and_bad_input_refused() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    let mut b = Browser::local(&app, "Lina (Lincoln)", "member", "lincoln-es-step").await;
    send(
        &mut b,
        &adoption(
            "lincoln-es-step",
            "testing",
            &all,
            "",
            "student-outcome",
            "40",
        ),
    )
    .await;
    // A second attempt opens the existing adoption, with its values.
    let form = b.get(&format!("/practices/{SLUG}/adopt")).await.body;
    assert!(
        form.contains("Your adoption of")
            && form.contains("Shorter texts for the first two weeks.")
    );
    send(
        &mut b,
        &adoption(
            "lincoln-es-step",
            "adopted",
            &all,
            "improved",
            "student-outcome",
            "40",
        ),
    )
    .await;
    let (adoptions, history): (i64, i64) = sql::query_as(
        "select (select count(*) from adoptions a join practices p on p.id = a.practice_id where p.slug = $1), (select count(*) from adoption_history)",
    )
    .bind(SLUG)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        (adoptions, history),
        (1, 2),
        "one adoption, every change kept"
    );
    // The history reads status and outcome from each change's snapshot, newest first.
    let form = b.get(&format!("/practices/{SLUG}/adopt")).await.body;
    assert!(form.contains("Changes to this adoption"));
    let newer = form
        .find("Lina (Lincoln): adopted, outcome improved</li>")
        .expect("the second change, with its outcome");
    let older = form
        .find("Lina (Lincoln): testing</li>")
        .expect("the first change, without an outcome");
    assert!(newer < older, "newest first");

    // Below the minimum cell size, an aspect that does not exist, a bad date: refused, kept.
    let mut bad = adoption(
        "lincoln-es-step",
        "adopted",
        &[99],
        "improved",
        "student-outcome",
        "4",
    );
    bad.iter_mut().find(|(k, _)| k == "started_on").unwrap().1 = "next week".into();
    let r = send(&mut b, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("minimum cell size")
            && r.body.contains("essential aspects; tick among those")
    );
    assert!(r.body.contains("is not a date") && r.body.contains("value=\"next week\""));
    let n: i64 = sql::query_scalar(
        "select m.n from measures m join adoptions a on a.id = m.adoption_id join practices p on p.id = a.practice_id where p.slug = $1",
    )
    .bind(SLUG)
    .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(
        n, 40,
        "the refused change did not touch the stored adoption"
    );
}

#[tokio::test]
async fn who_may_adopt() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    let form = adoption(
        "lincoln-es-step",
        "adopted",
        &all,
        "improved",
        "student-outcome",
        "40",
    );
    let count = || async {
        let n: i64 = sql::query_scalar("select count(*) from adoptions")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
        n
    };
    let before = count().await;
    let path = format!("/practices/{SLUG}/adopt");
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let mut anon = Browser::new(&app);
    assert_eq!(anon.get(&path).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anon.post(&path, &refs).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The originating team, another team's member posting for Lincoln, a coach without a team.
    for (name, role, team) in [
        ("Omar", "member", "bayview-ms-step"),
        ("Rita", "member", "riverside-ms-step"),
        ("Cora", "coach", ""),
    ] {
        let mut b = Browser::local(&app, name, role, team).await;
        assert_eq!(
            b.submit(&path, &refs).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
    }
    let mut owner = Browser::local(&app, "Omar", "member", "bayview-ms-step").await;
    assert_eq!(owner.get(&path).await.status, StatusCode::FORBIDDEN);
    // A Lincoln member without the CSRF token.
    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    assert_eq!(lina.post(&path, &refs).await.status, StatusCode::FORBIDDEN);
    assert_eq!(count().await, before, "nothing changed for the refused");
    // Drafts cannot be adopted.
    assert_eq!(
        lina.get("/practices/peer-learning-walks/adopt")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        lina.submit(&path, &refs).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count().await, before + 1);
}

#[tokio::test]
async fn adoptions_made_on_the_web_export_and_import_again() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    let mut b = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    send(
        &mut b,
        &adoption(
            "lincoln-es-step",
            "adapted",
            &all,
            "improved",
            "student-outcome",
            "40",
        ),
    )
    .await;
    let catalog = brightspots::store::export_catalog(&app.state.db)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    brightspots::content::write_dir(dir.path(), &catalog).unwrap();
    let text = std::fs::read_to_string(dir.path().join("adoptions.toml")).unwrap();
    assert!(
        text.contains("practice = \"reciprocal-teaching-roles\"") && text.contains("Shorter texts")
    );

    let fresh = TestApp::empty().await;
    let loaded =
        brightspots::content::load_dir(dir.path(), fresh.state.settings.min_cell()).unwrap();
    brightspots::store::import_catalog(&fresh.state.db, &loaded)
        .await
        .unwrap();
    let again = brightspots::store::export_catalog(&fresh.state.db)
        .await
        .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    brightspots::content::write_dir(dir2.path(), &again).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(dir2.path().join("adoptions.toml")).unwrap()
    );
    let stage: String = sql::query_scalar(
        "select stage from practices where slug = 'number-talks-sentence-frames'",
    )
    .fetch_one(fresh.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        stage, "replicated",
        "recomputed on import from the adoptions file"
    );
}

/// Adoption is for other schools: a team at the practice's own school gets no Adopt button,
/// no place in the team choices, and a plain refusal when it posts anyway.
#[tokio::test]
async fn teams_of_the_originating_school_do_not_adopt() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    // A second team at Bayview Middle School, where the practice began.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"insert into teams (slug, name, school_id, cycle, challenge_area_id, aim)
           select 'bayview-ms-literacy', 'Bayview literacy team', school_id, cycle, challenge_area_id, aim
           from teams where slug = 'bayview-ms-step'"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let count = || async {
        let n: i64 = sql::query_scalar("select count(*) from adoptions")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
        n
    };
    let before = count().await;
    let path = format!("/practices/{SLUG}/adopt");

    // Only on the home school's second team: no button but a plain explanation, and a refusal.
    let mut hana = Browser::local(&app, "Hana", "member", "bayview-ms-literacy").await;
    let page = hana.get(&format!("/practices/{SLUG}")).await.body;
    assert!(
        !page.contains(&format!("href=\"{path}\"")),
        "no Adopt button"
    );
    assert!(
        page.contains("adoptions are for teams at other schools"),
        "{page}"
    );
    let r = hana.get(&path).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body.contains("adoptions are for teams at other schools"),
        "{}",
        r.body
    );
    let form = adoption(
        "bayview-ms-literacy",
        "adopted",
        &all,
        "improved",
        "student-outcome",
        "40",
    );
    let r = send(&mut hana, &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("adoptions are for teams at other schools"),
        "{}",
        r.body
    );

    // On a Lincoln team too: the form offers only Lincoln's, and a post for the home school's
    // team is a problem next to the team field, with what was typed kept.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"insert into team_members (team_id, user_id)
           select (select id from teams where slug = 'lincoln-es-step'), id from users where name = 'Hana'"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = hana.get(&path).await.body;
    assert!(page.contains("value=\"lincoln-es-step\""));
    assert!(!page.contains("value=\"bayview-ms-literacy\""), "{page}");
    let r = send(&mut hana, &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let team = &r.body[r.body.find("id=\"f-team\"").unwrap()..];
    assert!(
        team[..team.find("</p>").unwrap()].contains("adoptions are for teams at other schools"),
        "{team}"
    );
    assert!(r.body.contains("Shorter texts for the first two weeks."));
    assert_eq!(count().await, before, "nothing saved for the home school");
}

/// Every choice of the adoption form refuses a value that is none of its choices next to its
/// field, with what was typed kept: never a 500, never a silent drop.
#[tokio::test]
async fn unknown_choices_in_the_adoption_form_are_problems_next_to_their_fields() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=aspect_count(&app).await).collect();
    let mut b = Browser::local(&app, "Lina (Lincoln)", "member", "lincoln-es-step").await;
    // (posted name, the value it replaces, the field the problem is shown at, what it says)
    let cases = [
        (
            "team",
            "lincoln-es-step",
            "team",
            "choose one of your teams",
        ),
        ("status", "adopted", "status", "choose where your team is"),
        (
            "outcome",
            "improved",
            "outcome",
            "choose improved, no change or declined",
        ),
        (
            "aspect",
            "1",
            "aspects",
            "is not one of the essential aspects",
        ),
        (
            "m-ingredient",
            "student-outcome",
            "m1-ingredient",
            "choose an ingredient",
        ),
        ("m-unit", "percent", "m1-unit", "choose a unit"),
    ];
    for (name, good, field, message) in cases {
        for bogus in ["null", "<script>"] {
            let mut form = adoption(
                "lincoln-es-step",
                "adopted",
                &all,
                "improved",
                "student-outcome",
                "40",
            );
            let posted = form.iter_mut().find(|(k, v)| k == name && v == good);
            posted.unwrap_or_else(|| panic!("{name}")).1 = bogus.into();
            let r = send(&mut b, &form).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name}={bogus}: {}",
                r.body
            );
            let block = field_block(&r.body, field);
            assert!(
                block.contains("field-error") && block.contains(message),
                "{name}={bogus}: {block}"
            );
            assert!(!r.body.contains("<script>"), "{name}: the value is escaped");
            for kept in [
                "Shorter texts for the first two weeks.",
                "value=\"Fall and winter benchmark\"",
                "value=\"2026-09-08\"",
            ] {
                assert!(r.body.contains(kept), "{name}={bogus}: {kept} kept");
            }
        }
    }
    let n: i64 = sql::query_scalar("select count(*) from adoptions a join teams t on t.id = a.team_id where t.slug = 'lincoln-es-step'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing saved");
}
