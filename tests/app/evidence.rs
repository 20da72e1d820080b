//! What a principal reads before adopting: the ESSA evidence level the recorded figures can
//! support (and a coach confirms), the designs of the measures, and what a practice takes —
//! through the real router, on the seed catalog.

use axum::http::StatusCode;
use brightspots::content::{load_dir, parse_practice};
use brightspots::domain::{CellSize, Design};
use brightspots::store::sql;

use crate::helpers::{Browser, TestApp, field_block, seed_copy, seed_dir};
use crate::review::{field, rubric, send, share};

const ADVISORY: &str = "/practices/ninth-grade-success-advisory";

#[tokio::test]
async fn the_seed_shows_levels_designs_and_what_it_takes() {
    let app = TestApp::seeded().await;
    let page = app.page(ADVISORY).await;
    // A comparison at two schools with 732 students supports Tier 2; no coach has confirmed
    // it, so the page claims Tier 4 and says what is pending.
    assert!(
        page.contains("ESSA evidence level: Tier 4 · Demonstrates a rationale"),
        "{page}"
    );
    assert!(page.contains("may support <strong>Tier 2 · Moderate evidence</strong>"));
    assert!(page.contains("at 2 schools with 732 students"));
    assert!(page.contains("Comparison group: 33% → 31% (n = 100), p = 0.01"));
    assert!(page.contains("lower is better"));
    assert!(page.contains("<h2 id=\"cost-title\">What it takes</h2>"));
    assert!(page.contains("<dt>Time for a teacher to start</dt><dd>3 hours</dd>"));
    assert!(page.contains("<dt>Materials</dt><dd>no cost</dd>"));
    assert!(page.contains("counselor (prints the goal cards)"));
    assert!(
        page.contains("<h2 id=\"logic-model\">Logic model</h2>")
            || page.contains(">Logic model</h2>")
    );

    // A logic model and a pre-post student outcome: Tier 4, and what Tier 3 needs.
    let talks = app.page("/practices/number-talks-sentence-frames").await;
    assert!(talks.contains("ESSA evidence level: Tier 4 · Demonstrates a rationale"));
    assert!(talks.contains("Tier 3 needs a student-outcome measure compared with a group"));
    assert!(talks.contains("<dt>Materials</dt><dd>15 USD per classroom</dd>"));
    // No logic model: no tier, and the page says what Tier 4 needs.
    let bags = app.page("/practices/family-reading-bags").await;
    assert!(bags.contains("ESSA evidence level: Not yet at an ESSA tier"));
    assert!(bags.contains("Tier 4 needs a Logic model section"));

    let (status, guide) = app.get("/evidence").await;
    assert_eq!(status, StatusCode::OK);
    for words in [
        "Tier 1 · Strong evidence",
        "350 or more students",
        "Replicated",
        "href=\"/search?essa=tier-4\"",
    ] {
        assert!(guide.contains(words), "{words}");
    }
}

#[tokio::test]
async fn an_adoption_that_dropped_an_aspect_is_not_the_practices_evidence() {
    let app = TestApp::seeded().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"update adoptions set aspects_kept = '[1, 2, 3, 4]'
           where practice_id = (select id from practices where slug = 'ninth-grade-success-advisory')"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = app.page(ADVISORY).await;
    // One school left: the 402 students there are enough, the one site is not.
    assert!(
        page.contains("may support <strong>Tier 3 · Promising evidence</strong>"),
        "{page}"
    );
    assert!(page.contains("Tier 2 needs such studies at 2 or more schools with 350 or more students together (now: 1 school, 402 students)"));
}

#[tokio::test]
async fn a_coach_confirms_what_the_figures_support_and_never_more() {
    let app = TestApp::seeded().await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let review = ada.get("/review/ninth-grade-success-advisory").await.body;
    assert!(
        review.contains("Confirm Tier 2 · Moderate evidence"),
        "{review}"
    );
    assert!(
        !review.contains("Confirm Tier 1"),
        "the figures do not support Tier 1"
    );
    let revision = field(&review, "revision");

    let mut fields = rubric(&revision, "vet", "");
    fields.push(("essa_tier", "1"));
    let r = ada
        .submit("/review/ninth-grade-success-advisory", &fields)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("support at most Tier 2 · Moderate evidence"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("name=\"essa_tier\" value=\"1\""),
        "no tier the figures do not support is offered"
    );

    let mut fields = rubric(&revision, "vet", "");
    fields.push(("essa_tier", "2"));
    let r = ada
        .submit("/review/ninth-grade-success-advisory", &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let kept: Option<i64> =
        sql::query_scalar("select essa_tier from reviews order by id desc limit 1")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(kept, Some(2), "kept with the decision");

    app.indexed().await;
    let page = app.page(ADVISORY).await;
    assert!(
        page.contains("ESSA evidence level: Tier 2 · Moderate evidence"),
        "{page}"
    );
    assert!(page.contains("A network coach confirmed this level"));
    assert!(!page.contains("may support"));
    let (_, found) = app.get("/api/v1/search?essa=tier-2").await;
    assert!(found.contains("ninth-grade-success-advisory"), "{found}");
    let (_, tier4) = app.get("/api/v1/search?essa=tier-4").await;
    assert!(!tier4.contains("ninth-grade-success-advisory"));
    assert!(tier4.contains("number-talks-sentence-frames"), "{tier4}");
    let (status, _) = app.get("/api/v1/search?essa=tier-9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_filters_on_what_it_takes() {
    let app = TestApp::seeded().await;
    app.indexed().await;
    let (_, free) = app.get("/api/v1/search?cost=no-cost").await;
    assert!(free.contains("ninth-grade-success-advisory"));
    assert!(
        !free.contains("number-talks-sentence-frames"),
        "15 USD is a cost"
    );
    let (_, quick) = app.get("/api/v1/search?start=up-to-2-hours").await;
    assert!(quick.contains("number-talks-sentence-frames"));
    assert!(
        !quick.contains("ninth-grade-success-advisory"),
        "3 hours to start"
    );
    let page = app.page("/search?start=up-to-2-hours").await;
    assert!(
        page.contains("2 hours or less to start"),
        "the filter is labelled"
    );
}

#[tokio::test]
async fn the_form_takes_designs_and_costs_and_keeps_what_was_typed() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let form = rosa.get("/share").await.body;
    for label in ["Hours for a teacher to start", "Logic model"] {
        assert!(form.contains(label), "{label}");
    }
    // A comparison without the comparison group's figures, a comparison group below the
    // minimum cell size, a currency that is not one.
    let fields = share(
        "Restate before you add",
        "Talk rose.",
        &[
            ("m-design", "comparison"),
            ("m-better", "higher"),
            ("m-comparison_baseline", "40"),
            ("m-comparison_result", ""),
            ("m-comparison_n", "4"),
            ("m-p_value", "0.03"),
            ("cost-start_hours", "1.5"),
            ("cost-materials_per_classroom", "20"),
            ("cost-currency", "dollars"),
        ],
    );
    let r = send(&mut rosa, "/share", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        field_block(&r.body, "m1-comparison_result").contains("baseline, result and n together")
    );
    assert!(field_block(&r.body, "cost-currency").contains("is not a currency code"));
    assert!(
        r.body.contains("value=\"dollars\""),
        "what was typed is kept"
    );
    assert!(r.body.contains("value=\"0.03\""));
    assert!(r.body.contains("<option value=\"comparison\" selected>"));
    for label in [
        "How the figures were gathered",
        "Comparison group: baseline",
    ] {
        assert!(r.body.contains(label), "{label}");
    }

    let fields = share(
        "Restate before you add",
        "Talk rose.",
        &[
            ("m-design", "comparison"),
            ("m-better", "higher"),
            ("m-comparison_baseline", "40"),
            ("m-comparison_result", "42"),
            ("m-comparison_n", "4"),
            ("m-p_value", ""),
            ("cost-currency", "USD"),
        ],
    );
    let r = send(&mut rosa, "/share", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_block(&r.body, "m1-comparison_n").contains("below the minimum cell size"),
        "a comparison group is a cell too"
    );

    let fields = share(
        "Restate before you add",
        "Talk rose.",
        &[
            ("m-design", "comparison"),
            ("m-better", "higher"),
            ("m-comparison_baseline", "40"),
            ("m-comparison_result", "42"),
            ("m-comparison_n", "30"),
            ("m-p_value", "0.03"),
            (
                "s-logic-model",
                "- Restating → listening → more students speak",
            ),
            ("cost-start_hours", "1.5"),
            ("cost-weekly_hours", "0"),
            ("cost-materials_per_classroom", "0"),
            ("cost-currency", "usd"),
            ("cost-staff_roles", "instructional coach"),
            ("action", "save"),
        ],
    );
    let r = send(&mut rosa, "/share", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let edit = rosa.get(r.location.as_deref().unwrap()).await.body;
    assert!(edit.contains("value=\"instructional coach\""), "{edit}");
    assert!(edit.contains("value=\"USD\""));
    assert!(edit.contains("<option value=\"comparison\" selected>"));
    assert!(edit.contains("value=\"30\""));
    assert!(edit.contains("Restating → listening"));
}

#[test]
fn the_content_format_carries_designs_and_costs() {
    let seed = load_dir(&seed_dir(), CellSize::DEFAULT).unwrap();
    let advisory = seed
        .practices
        .iter()
        .find(|p| p.slug.as_str() == "ninth-grade-success-advisory")
        .unwrap();
    assert_eq!(advisory.measures[1].design, Design::Comparison);
    assert_eq!(advisory.cost.start_hours, Some(3.0));
    // Old files name no design: pre-post.
    assert!(
        seed.practices
            .iter()
            .flat_map(|p| &p.measures)
            .any(|m| m.design == Design::PrePost && m.comparison.is_none())
    );

    let dir = seed_copy();
    let path = dir.path().join("practices/ninth-grade-success-advisory.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("comparison_n = 100\n", "", 1).replacen(
        "currency = \"USD\"",
        "currency = \"usd\"",
        1,
    );
    let errors = parse_practice(
        "advisory.md",
        "ninth-grade-success-advisory",
        &broken,
        CellSize::DEFAULT,
    )
    .unwrap_err();
    let text_of: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text_of.iter().any(|e| e
            .contains("measures[2].comparison_n: is required with the other comparison figures")),
        "{text_of:#?}"
    );
    assert!(
        text_of
            .iter()
            .any(|e| e.contains("cost.currency: \"usd\" is not a currency code")),
        "{text_of:#?}"
    );
    let pre_post = text.replacen("design = \"comparison\"\n", "", 1);
    let errors = parse_practice(
        "advisory.md",
        "ninth-grade-success-advisory",
        &pre_post,
        CellSize::DEFAULT,
    )
    .unwrap_err();
    assert!(
        errors.iter().any(|e| e
            .to_string()
            .contains("measures[2].design: a pre-post measure has no comparison group")),
        "{errors:#?}"
    );
}

#[tokio::test]
async fn nothing_below_the_minimum_cell_size_is_shown_or_counted() {
    // A comparison group of 5 stored before the network raised its minimum (or written past
    // the rules): no page, answer or level may show or count it.
    let app = TestApp::seeded().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"update measures set comparison_n = 5
           where adoption_id = (select a.id from adoptions a join practices p on p.id = a.practice_id
                                where p.slug = 'ninth-grade-success-advisory')"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    sql::query(
        r#"update measures set comparison_n = 6
           where revision_id = (select public_revision_id from practices where slug = 'turn-and-talk-with-talk-moves')
             and position = 0"#,
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = app.page(ADVISORY).await;
    assert!(
        page.contains("may support <strong>Tier 3 · Promising evidence</strong>"),
        "{page}"
    );
    assert!(!page.contains("(n = 5)"));
    let (_, json) = app
        .get("/api/v1/practices/ninth-grade-success-advisory")
        .await;
    assert!(!json.contains("\"comparison_n\":5"), "{json}");
    let turn = app.page("/practices/turn-and-talk-with-talk-moves").await;
    assert!(!turn.contains("(n = 6)"));
    let (_, json) = app
        .get("/api/v1/practices/turn-and-talk-with-talk-moves")
        .await;
    assert!(!json.contains("\"comparison_n\":6"), "{json}");
}

#[tokio::test]
async fn the_api_writes_and_reads_designs_costs_and_the_level() {
    use crate::tokens::{call, make_token, practice};
    use serde_json::json;
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = make_token(&mut rosa, "script", &["read", "write:practices"]).await;
    let t = Some(token.as_str());
    let mut p = practice("Restate, then add", "bayview-ms-step");
    p["measures"][0]["design"] = json!("comparison");
    p["measures"][0]["comparison_baseline"] = json!(40);
    p["measures"][0]["comparison_result"] = json!(44);
    p["measures"][0]["comparison_n"] = json!(3);
    p["cost"] = json!({"start_hours": 2, "materials_per_classroom": 30, "currency": "usd dollars"});
    let (status, v) = call(&app, "POST", "/api/v1/practices", t, Some(p.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"measures[0].comparison_n"), "{fields:?}");
    assert!(fields.contains(&"cost.currency"), "{fields:?}");

    p["measures"][0]["comparison_n"] = json!(30);
    p["measures"][0]["p_value"] = json!(0.04);
    p["cost"]["currency"] = json!("USD");
    let (status, draft) = call(&app, "POST", "/api/v1/practices", t, Some(p)).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["measures"][0]["design"], "comparison");
    assert_eq!(draft["measures"][0]["comparison_n"], 30);
    assert_eq!(draft["measures"][0]["p_value"], 0.04);
    assert_eq!(draft["cost"]["materials_per_classroom"], 30.0);
    assert_eq!(draft["cost"]["currency"], "USD");

    let (_, advisory) = call(
        &app,
        "GET",
        "/api/v1/practices/ninth-grade-success-advisory",
        None,
        None,
    )
    .await;
    assert_eq!(advisory["essa"]["level"], "tier-4");
    assert_eq!(advisory["essa"]["pending"], "Tier 2 · Moderate evidence");
    assert_eq!(advisory["cost"]["start_hours"], 3.0);
}

#[tokio::test]
async fn an_adoption_report_carries_its_design_into_the_level() {
    let app = TestApp::seeded().await;
    let all: Vec<usize> = (1..=crate::adopt::aspect_count(&app).await).collect();
    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    let mut fields = crate::adopt::adoption(
        "lincoln-es-step",
        "adopted",
        &all,
        "improved",
        "student-outcome",
        "120",
    );
    fields.extend(
        [
            ("m-design", "randomized"),
            ("m-better", "higher"),
            ("m-comparison_baseline", "37"),
            ("m-comparison_result", "39"),
            ("m-comparison_n", "118"),
            ("m-p_value", "0.03"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let r = crate::adopt::send(&mut lina, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form = lina
        .get("/practices/reciprocal-teaching-roles/adopt")
        .await
        .body;
    assert!(
        form.contains("<option value=\"randomized\" selected>"),
        "the report keeps its design"
    );
    let page = app.page("/practices/reciprocal-teaching-roles").await;
    assert!(
        page.contains("may support <strong>Tier 3 · Promising evidence</strong>"),
        "a randomized comparison at one adopting school: {page}"
    );
}
