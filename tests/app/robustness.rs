//! Issue 19: forms that stay small and keep what was typed whatever is sent — caps on repeated
//! fields, one body limit with the hub's own page, limits the HTML and the server share, error
//! links that land somewhere, and local sign-in that never merges two people.

use axum::http::StatusCode;
use brightspots::domain::{MAX_ADAPTATIONS, MAX_MEASURES, MAX_SECTION, MAX_SUMMARY, MAX_TITLE};
use brightspots::store::sql;

use crate::helpers::{Browser, Resp, TestApp, csrf_in, field_block};

/// A practice Bayview's team may save, as the share form posts it.
fn practice() -> Vec<(String, String)> {
    [
        ("title", "Restate, then add"),
        (
            "summary",
            "Students restate a peer's idea before adding their own.",
        ),
        ("team", "bayview-ms-step"),
        ("stage", "confirmed"),
        ("area", "academic-discourse"),
        ("grade", "6-8"),
        ("subject", "math"),
        ("tags", "talk moves"),
        (
            "s-what-it-is",
            "A student restates the previous idea first.",
        ),
        ("s-evidence", "Talk rose from 41% to 78% of students."),
        ("s-essential-aspects", "- Restate before you add"),
        ("s-necessary-conditions", "- A posted sentence frame"),
        ("m-name", "Students who spoke in a lesson"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Observation tally"),
        ("m-baseline", "41"),
        ("m-result", "78"),
        ("m-n", "28"),
        ("m-period", "Fall 2025"),
        ("action", "save"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An adoption of the seed's reciprocal teaching by Lincoln's team.
fn adoption() -> Vec<(String, String)> {
    [
        ("team", "lincoln-es-step"),
        ("status", "testing"),
        ("started_on", "2026-09-08"),
        ("adaptations", "Shorter texts for the first two weeks."),
        ("m-name", "Students at benchmark"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Benchmark"),
        ("m-baseline", "38"),
        ("m-result", "51"),
        ("m-n", "40"),
        ("m-period", "Fall 2026"),
        ("action", "save"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

const ADOPT: &str = "/practices/reciprocal-teaching-roles/adopt";

async fn send(b: &mut Browser<'_>, path: &str, fields: &[(String, String)]) -> Resp {
    let token = b.csrf().await;
    let mut all = vec![("csrf".to_string(), token)];
    all.extend_from_slice(fields);
    let body = serde_urlencoded::to_string(&all).unwrap();
    b.request("POST", path, Some(body)).await
}

fn with(mut form: Vec<(String, String)>, k: &str, v: &str) -> Vec<(String, String)> {
    form.push((k.into(), v.into()));
    form
}

fn set(mut form: Vec<(String, String)>, k: &str, v: &str) -> Vec<(String, String)> {
    form.iter_mut().find(|(key, _)| key == k).unwrap().1 = v.into();
    form
}

/// Every `href="#…"` of the error summary names an element id on the page.
fn summary_links_resolve(page: &str) {
    let start = page
        .find("class=\"notice error\"")
        .expect("an error summary");
    let summary = &page[start..start + page[start..].find("</div>").unwrap()];
    let mut links = 0;
    for part in summary.split("href=\"#").skip(1) {
        let id = &part[..part.find('"').unwrap()];
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "the summary links to #{id}, which is on no element:\n{summary}"
        );
        links += 1;
    }
    assert!(links > 0, "{summary}");
}

/// 50,000 measure rows in 300 KB: the form keeps the first rows, says the rest were dropped
/// next to the table, and the page stays small.
#[tokio::test]
async fn fifty_thousand_measure_rows_make_a_small_page_with_the_first_rows_kept() {
    let app = TestApp::seeded().await;
    let dropped = format!(
        "The table holds at most {MAX_MEASURES} rows; the rows past {MAX_MEASURES} were not kept"
    );
    let mut share = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut form = practice();
    for i in 2..=50_000 {
        form.push(("m-n".into(), (10_000 + i).to_string()));
    }
    let r = send(&mut share, "/share", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.len() < 300_000, "a page of {} bytes", r.body.len());
    let table = field_block(&r.body, "measures");
    assert!(table.contains(&dropped), "{table}");
    assert!(
        table.contains("The table is full"),
        "no Add button past the cap"
    );
    assert!(r.body.contains("value=\"Students who spoke in a lesson\""));
    assert!(r.body.contains("value=\"28\"") && r.body.contains("value=\"10002\""));
    assert!(
        r.body
            .contains(&format!("value=\"{}\"", 10_000 + MAX_MEASURES))
    );
    assert!(
        !r.body
            .contains(&format!("value=\"{}\"", 10_001 + MAX_MEASURES))
    );
    // A row button on the capped table tells it too, and adds nothing.
    let r = send(&mut share, "/share", &set(form, "action", "add-measure")).await;
    assert!(r.body.len() < 300_000 && r.body.contains(&dropped));

    let mut adopt = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    let mut form = adoption();
    for i in 2..=50_000 {
        form.push(("m-n".into(), (10_000 + i).to_string()));
    }
    let r = send(&mut adopt, ADOPT, &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.len() < 300_000, "a page of {} bytes", r.body.len());
    assert!(field_block(&r.body, "measures").contains(&dropped));
    assert!(
        r.body.contains("value=\"Students at benchmark\"") && r.body.contains("value=\"10002\"")
    );
    assert!(r.body.contains("Shorter texts for the first two weeks."));
}

/// Every other repeated field is capped while parsing too: resources, ticked boxes, aspects,
/// and tags are told once, not once per value.
#[tokio::test]
async fn every_repeated_field_is_capped_and_told_once() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut form = practice();
    for i in 0..5_000 {
        form.push(("r-title".into(), format!("Link {i}")));
        form.push(("r-url".into(), format!("https://example.org/{i}")));
        form.push(("area".into(), format!("area-{i}")));
        form.push(("grade".into(), format!("g{i}")));
        form.push(("subject".into(), format!("s{i}")));
    }
    let long_tags = vec!["x".repeat(61); 5_000].join(", ");
    let form = set(form, "tags", &long_tags);
    let r = send(&mut b, "/share", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.len() < 700_000, "a page of {} bytes", r.body.len());
    assert!(field_block(&r.body, "resources").contains("the ones past 20 were not kept"));
    assert!(r.body.contains("The list is full"));
    for field in ["areas", "grades", "subjects"] {
        assert!(
            field_block(&r.body, field).contains("were not kept"),
            "{field}"
        );
    }
    let tags = field_block(&r.body, "tags");
    assert!(
        tags.contains("Tags 1, 2, 3, 4, 5 and 4995 more are longer than 60 characters"),
        "{tags}"
    );
    assert!(tags.contains("has 5000 tags; the limit is 20"), "{tags}");
    summary_links_resolve(&r.body);

    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    let mut form = adoption();
    for i in 0..50_000 {
        form.push(("aspect".into(), format!("x{i}")));
    }
    let r = send(&mut lina, ADOPT, &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.len() < 300_000, "a page of {} bytes", r.body.len());
    assert!(field_block(&r.body, "aspects").contains("were not kept"));
}

/// One body limit, and one error page: a body under it is the form (its problems shown, its
/// text kept); a body over it is the hub's 413 page that says what to do, or JSON under /api/.
#[tokio::test]
async fn large_bodies_get_the_form_or_the_hubs_own_413() {
    let app = TestApp::seeded().await;
    let three = "a".repeat(3 * 1024 * 1024);
    let five = "a".repeat(5 * 1024 * 1024);

    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let r = send(&mut rosa, "/share", &set(practice(), "s-evidence", &three)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_block(&r.body, "s-evidence").contains(&format!("the limit is {MAX_SECTION}")));
    assert!(
        r.body.contains("Students who spoke in a lesson"),
        "the text is kept"
    );
    let r = send(&mut rosa, "/share", &set(practice(), "s-evidence", &five)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.body.contains("<h1>The form was too large</h1>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("your browser still has it"), "{}", r.body);

    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    let r = send(&mut lina, ADOPT, &set(adoption(), "adaptations", &three)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_block(&r.body, "adaptations").contains(&format!("the limit is {MAX_ADAPTATIONS}"))
    );
    let r = send(&mut lina, ADOPT, &set(adoption(), "adaptations", &five)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.body.contains("<h1>The form was too large</h1>"),
        "{}",
        r.body
    );

    // The API's writes answer in its own error shape.
    let token = crate::tokens::make_token(&mut lina, "big", &["write:practices"]).await;
    let (status, json) = crate::tokens::call(
        lina.app,
        "POST",
        "/api/v1/practices",
        Some(&token),
        Some(serde_json::json!({ "title": five })),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        json["error"].as_str().unwrap().contains("larger than 4 MB"),
        "{json}"
    );
}

/// The value of attribute `attr` on the element with `id`.
fn attribute(page: &str, id: &str, attr: &str) -> String {
    let at = page.find(&format!("id=\"{id}\"")).unwrap();
    let tag = &page[at..at + page[at..].find('>').unwrap()];
    let marker = format!("{attr}=\"");
    let from = tag
        .find(&marker)
        .unwrap_or_else(|| panic!("{id} has no {attr}: {tag}"))
        + marker.len();
    tag[from..from + tag[from..].find('"').unwrap()].to_string()
}

/// The browser's limits are the server's: a title of exactly `maxlength` saves, one more is
/// refused.
#[tokio::test]
async fn maxlength_attributes_are_the_limits_the_server_checks() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let page = b.get("/share").await.body;
    assert_eq!(
        attribute(&page, "title", "maxlength"),
        MAX_TITLE.to_string()
    );
    assert_eq!(
        attribute(&page, "summary", "maxlength"),
        MAX_SUMMARY.to_string()
    );
    assert_eq!(
        attribute(&page, "s-evidence", "maxlength"),
        MAX_SECTION.to_string()
    );
    let r = send(
        &mut b,
        "/share",
        &set(practice(), "title", &"T".repeat(MAX_TITLE + 1)),
    )
    .await;
    assert!(field_block(&r.body, "title").contains("the limit is 200"));
    // A section at its limit, with line breaks sent as CRLF, is within it.
    let section = "a\r\n".repeat(MAX_SECTION / 2);
    let r = send(
        &mut b,
        "/share",
        &set(
            set(practice(), "title", &"T".repeat(MAX_TITLE)),
            "s-evidence",
            &section,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    let page = lina.get(ADOPT).await.body;
    assert_eq!(
        attribute(&page, "adaptations", "maxlength"),
        MAX_ADAPTATIONS.to_string()
    );
    let page = Browser::new(&app).get("/signin").await.body;
    assert_eq!(
        attribute(&page, "local-name", "maxlength"),
        brightspots::domain::MAX_LOCAL_NAME.to_string()
    );
}

/// A long tag is told next to the tags field by its number, and every link of the error
/// summary lands on an element of the page — blank measure rows before the bad one included.
#[tokio::test]
async fn problems_are_told_by_readable_names_and_every_summary_link_lands() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let tags = format!("talk moves, {}", "t".repeat(61));
    let mut form = set(practice(), "tags", &tags);
    // A blank row, then a row whose n is too small: the problem is on row 3, not row 2.
    for (k, v) in [
        ("m-name", ""),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", ""),
        ("m-baseline", ""),
        ("m-result", ""),
        ("m-n", ""),
        ("m-period", ""),
        ("m-name", "Third"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Tally"),
        ("m-baseline", "1"),
        ("m-result", "2"),
        ("m-n", "3"),
        ("m-period", "Fall"),
    ] {
        form = with(form, k, v);
    }
    form = with(with(form, "r-title", "Slides"), "r-url", "not a link");
    form = with(form, "license", "CC\u{1}BY");
    let r = send(&mut b, "/share", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let block = field_block(&r.body, "tags");
    assert!(
        block.contains("Tag 2 is longer than 60 characters"),
        "{block}"
    );
    assert!(!r.body.contains("tags[2]"), "no content-format name shown");
    assert!(field_block(&r.body, "m3-n").contains("minimum cell size"));
    assert!(!field_block(&r.body, "m2-n").contains("minimum cell size"));
    assert!(r.body.contains(">Measure 3: n (students)</a>"));
    assert!(r.body.contains(">Resource 1: url</a>"));
    summary_links_resolve(&r.body);
}

/// A person removed from the adopting team while they wrote gets the form back with their
/// text and the problem next to the team field (still a 403, and nothing saved).
#[tokio::test]
async fn removed_from_the_team_mid_edit_keeps_the_adoption_text() {
    let app = TestApp::seeded().await;
    let mut lina = Browser::local(&app, "Lina", "member", "lincoln-es-step").await;
    assert_eq!(lina.get(ADOPT).await.status, StatusCode::OK);
    let id: i64 = sql::query_scalar("select id from users where name = 'Lina'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    app.state
        .db
        .set_membership(id, "lincoln-es-step", false)
        .await
        .unwrap();
    let form = set(
        adoption(),
        "adaptations",
        "We read aloud first; typed with care.",
    );
    let r = send(&mut lina, ADOPT, &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("We read aloud first; typed with care."));
    assert!(r.body.contains("value=\"Students at benchmark\""));
    assert!(r.body.contains("value=\"2026-09-08\""));
    assert!(
        field_block(&r.body, "team").contains("you are not on the team"),
        "{}",
        r.body
    );
    let n: i64 = sql::query_scalar("select count(*) from adoptions a join teams t on t.id = a.team_id where t.slug = 'lincoln-es-step'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing saved");
}

/// Posts the local sign-in form with a raw (already urlencoded) body.
async fn local_raw(b: &mut Browser<'_>, fields: &str) -> Resp {
    let token = csrf_in(&b.get("/signin").await.body).unwrap();
    b.request(
        "POST",
        "/signin/local",
        Some(format!("csrf={token}&{fields}")),
    )
    .await
}

async fn users(app: &TestApp) -> i64 {
    sql::query_scalar("select count(*) from users")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn local_sign_in_never_merges_two_names_and_tells_each_problem() {
    let app = TestApp::seeded().await;
    // A name without a letter or digit is a problem, the name kept.
    let mut b = Browser::new(&app);
    let r = local_raw(&mut b, "name=%21%21%21&role=admin&team=").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&r.body, "name").contains("at least one letter or digit"));
    assert!(r.body.contains("value=\"!!!\""));
    assert!(!b.cookies.contains_key("bs_session"), "not signed in");

    // Names that differ are different people: the admin stays an admin.
    let before = users(&app).await;
    Browser::local(&app, "Ann-Lee", "admin", "").await;
    Browser::local(&app, "Ann Lee", "member", "").await;
    Browser::local(&app, "ann.lee", "member", "").await;
    assert_eq!(users(&app).await, before + 3);
    let role: String = sql::query_scalar("select role from users where name = 'Ann-Lee'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(role, "admin");
    // The same name (letter case and spacing aside) is the same person.
    Browser::local(&app, "ann  LEE", "member", "").await;
    assert_eq!(users(&app).await, before + 3);

    // A name that is not valid UTF-8 is a 400 form problem, nothing signed in.
    let mut b = Browser::new(&app);
    let r = local_raw(&mut b, "name=Bo%FF%FEb&role=member&team=").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&r.body, "name").contains("not valid text"));
    assert!(!b.cookies.contains_key("bs_session"));

    // An unknown team is a problem next to the team field, the name and role kept.
    let r = local_raw(&mut b, "name=Tess&role=coach&team=no-such-team").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&r.body, "team").contains("not a team on this hub"));
    assert!(r.body.contains("value=\"Tess\""));
    assert!(r.body.contains("value=\"coach\" checked"));
    // A form missing its role is the page again too, not axum's plain text.
    let r = local_raw(&mut b, "name=Tess").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(field_block(&r.body, "role").contains("Pick one of the roles"));
    assert!(!b.cookies.contains_key("bs_session"));
    assert_eq!(users(&app).await, before + 3);
}
