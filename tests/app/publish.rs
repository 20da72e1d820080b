//! Authoring end to end: the share form, drafts, validation that keeps values, the privacy
//! gate, preview = publication, submission, stale edits, history, and who may do what.

use axum::http::StatusCode;
use brightspots::store::sql;

use crate::helpers::{Browser, Resp, TestApp, csrf_in, field_block};

/// A complete share-out as the form posts it.
pub(crate) fn practice_form<'a>(
    title: &'a str,
    n: &'a str,
    evidence: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        (
            "summary",
            "Students restate a peer's idea before adding their own, so every voice is built on.",
        ),
        ("team", "bayview-ms-step"),
        ("stage", "confirmed"),
        ("area", "academic-discourse"),
        ("grade", "6-8"),
        ("subject", "math"),
        ("tags", "talk moves, discourse"),
        (
            "s-what-it-is",
            "Before adding an idea, a student restates the previous speaker's idea in their own words.",
        ),
        ("s-evidence", evidence),
        (
            "s-essential-aspects",
            "- Restate before you add\n- The teacher waits five seconds",
        ),
        (
            "s-necessary-conditions",
            "- A posted sentence frame\n- Ten minutes of practice in week one",
        ),
        ("m-name", "Students who spoke in a lesson"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Observation tally"),
        ("m-baseline", "41"),
        ("m-result", "78"),
        ("m-n", n),
        ("m-period", "Fall 2025"),
    ]
}

fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    form.extend_from_slice(extra);
    form
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sql::query_scalar(sql)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

fn article(page: &str) -> &str {
    let start = page.find("<article").expect("an article");
    let end = page[start..]
        .find("<footer class=\"practice-foot\">")
        .unwrap();
    &page[start..start + end]
}

#[tokio::test]
async fn a_team_drafts_previews_submits_and_the_coach_vetted_page_matches_the_preview() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let form = b.get("/share").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("which aspects") || form.body.contains("Which parts must be kept"));

    let r = b
        .submit(
            "/share",
            &with(
                practice_form(
                    "Restate, then add",
                    "28",
                    "Talk rose from 41% to 78% of students per lesson.",
                ),
                &[("action", "save")],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some("/practices/restate-then-add/edit?saved=1")
    );
    let edit = b.get("/practices/restate-then-add/edit?saved=1").await.body;
    assert!(edit.contains("Draft saved as revision 1"));

    // A draft is nobody else's business: not public, not searchable.
    let (status, _) = app.get("/practices/restate-then-add").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Saving the same text again (a form posted twice) makes no second revision.
    let base = csrf_field(&edit, "base");
    let again = with(
        practice_form(
            "Restate, then add",
            "28",
            "Talk rose from 41% to 78% of students per lesson.",
        ),
        &[("action", "save"), ("base", &base)],
    );
    b.submit("/practices/restate-then-add/edit", &again).await;
    b.submit("/practices/restate-then-add/edit", &again).await;
    assert_eq!(count(&app, "select count(*) from practice_revisions r join practices p on p.id = r.practice_id where p.slug = 'restate-then-add'").await, 1);

    // Submitting needs the privacy confirmation.
    let r = b
        .submit(
            "/practices/restate-then-add/edit",
            &with(
                practice_form(
                    "Restate, then add",
                    "28",
                    "Talk rose from 41% to 78% of students per lesson.",
                ),
                &[("action", "submit"), ("base", &base)],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("confirm that the evidence identifies no student")
    );
    let r = b
        .submit(
            "/practices/restate-then-add/edit",
            &with(
                practice_form(
                    "Restate, then add",
                    "28",
                    "Talk rose from 41% to 78% of students per lesson.",
                ),
                &[
                    ("action", "submit"),
                    ("base", &base),
                    ("confirm_privacy", "yes"),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status: String =
        sql::query_scalar("select status from practices where slug = 'restate-then-add'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(status, "submitted");
    assert!(b.get("/me").await.body.contains("Submitted for review"));

    // Preview equals publication byte for byte: vet it (as the review flow will) and compare.
    let preview = b.get("/practices/restate-then-add/preview").await;
    assert_eq!(preview.status, StatusCode::OK);
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update practices set status = 'vetted', public_revision_id = current_revision_id, published_on = '2026-11-25', vetted_on = '2026-11-25' where slug = 'restate-then-add'")
        .execute(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let published = b.get("/practices/restate-then-add").await;
    assert_eq!(published.status, StatusCode::OK);
    // Everything but the footer's publication dates, which only vetting gives.
    assert_eq!(article(&preview.body), article(&published.body));
    assert!(
        published
            .body
            .contains("Vetted by a network coach on November 25, 2026")
    );

    // The web-written practice exports like any other.
    let catalog = brightspots::store::export_catalog(&app.state.db)
        .await
        .unwrap();
    let doc = catalog
        .practices
        .iter()
        .find(|p| p.slug.as_str() == "restate-then-add")
        .unwrap();
    assert_eq!(doc.measures[0].n, 28);
    assert!(brightspots::content::write_practice(doc).contains("## Essential aspects"));
}

/// Text as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn csrf_field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).unwrap() + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn bad_input_keeps_every_value_and_marks_each_field() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let long_title = "T".repeat(300);
    let mut form = practice_form(
        &long_title,
        "4",
        "Maria scored 45 on the exit ticket; email maria.l@bayview.org.",
    );
    form.push(("m-name", "Second measure"));
    form.push(("m-ingredient", "teaching-practice"));
    form.push(("m-unit", "percent"));
    form.push(("m-instrument", "Log"));
    form.push(("m-baseline", "forty"));
    form.push(("m-result", "60"));
    form.push(("m-n", "30"));
    form.push(("m-period", "Fall"));
    form.push(("s-getting-started", "Start\u{0}here"));
    form.push(("action", "save"));
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Each problem next to its field…
    assert!(r.body.contains("is 300 characters long"), "title length");
    assert!(
        r.body.contains("minimum cell size") || r.body.contains("below"),
        "the cell size refusal"
    );
    assert!(r.body.contains(&escaped("\"forty\" is not a number")));
    assert!(r.body.contains("control character"));
    // …every typed value still there…
    assert!(r.body.contains(&long_title));
    assert!(r.body.contains("value=\"forty\""));
    assert!(r.body.contains("Second measure"));
    // …the privacy flags shown to the author…
    assert!(
        r.body
            .contains(&escaped("a student's name next to a score")),
        "{}",
        r.body
    );
    assert!(r.body.contains("an email address"));
    // …and nothing saved.
    assert_eq!(count(&app, "select count(*) from practices where team_id = (select id from teams where slug = 'bayview-ms-step') and status = 'draft'").await, 0);

    // Row buttons add and remove measure rows without saving or losing text.
    let r = b
        .submit(
            "/share",
            &with(
                practice_form("Rows", "30", "x"),
                &[("action", "add-measure")],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Measure 2: name"));
    let r = b
        .submit(
            "/share",
            &with(
                practice_form("Rows", "30", "x"),
                &[("action", "remove-measure-0")],
            ),
        )
        .await;
    assert!(!r.body.contains("Measure 1: name") && r.body.contains("value=\"Rows\""));

    // 500 measure rows: the first 50 are kept, the rest dropped with a message, not a crash.
    let mut many = practice_form("Many rows", "30", "x");
    for _ in 0..500 {
        many.extend_from_slice(&[
            ("m-name", "m"),
            ("m-ingredient", "student-outcome"),
            ("m-unit", "percent"),
            ("m-instrument", "i"),
            ("m-baseline", "1"),
            ("m-result", "2"),
            ("m-n", "30"),
            ("m-period", "p"),
        ]);
    }
    many.push(("action", "save"));
    let r = b.submit("/share", &many).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("the rows past 50 were not kept"));

    // A duplicate title gets its own address.
    for _ in 0..2 {
        let r = b
            .submit(
                "/share",
                &with(
                    practice_form("Same title", "30", "x"),
                    &[("action", "save")],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        count(
            &app,
            "select count(*) from practices where slug in ('same-title', 'same-title-2')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_stale_edit_is_detected_and_both_versions_are_shown() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut sam = Browser::local(&app, "Sam Park", "member", "bayview-ms-step").await;
    rosa.submit(
        "/share",
        &with(
            practice_form("Shared doc", "30", "First evidence."),
            &[("action", "save")],
        ),
    )
    .await;
    let base = csrf_field(&rosa.get("/practices/shared-doc/edit").await.body, "base");
    let r = sam
        .submit(
            "/practices/shared-doc/edit",
            &with(
                practice_form("Shared doc", "30", "Sam's evidence."),
                &[("action", "save"), ("base", &base)],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = rosa
        .submit(
            "/practices/shared-doc/edit",
            &with(
                practice_form("Shared doc", "30", "Rosa's evidence."),
                &[("action", "save"), ("base", &base)],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Sam Park saved revision 2"));
    assert!(
        r.body.contains(&escaped("+ Sam's evidence"))
            || r.body.contains(&escaped("− Sam's evidence")),
        "their version shown"
    );
    assert!(
        r.body
            .contains(&format!("{}</textarea>", escaped("Rosa's evidence."))),
        "hers kept in the form"
    );
    assert_eq!(count(&app, "select count(*) from practice_revisions r join practices p on p.id = r.practice_id where p.slug = 'shared-doc'").await, 2);

    // History lists both, compares them, and restores the first as revision 3.
    let h = rosa.get("/practices/shared-doc/history?from=1&to=2").await;
    assert_eq!(h.status, StatusCode::OK);
    assert!(
        h.body.contains("diff-del")
            && h.body.contains("First evidence.")
            && h.body.contains("diff-add")
    );
    let r = rosa
        .submit("/practices/shared-doc/restore", &[("revision", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let third = app
        .state
        .db
        .revision_by_number("shared-doc", 3)
        .await
        .unwrap()
        .unwrap();
    assert!(
        third
            .sections
            .values()
            .any(|s| s.contains("First evidence."))
    );
}

#[tokio::test]
async fn an_expired_session_keeps_the_text_and_asks_to_sign_in() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = b.csrf().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("delete from sessions")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut form = practice_form(
        "Written before lunch",
        "30",
        "A long paragraph of careful evidence.",
    );
    form.push(("csrf", &token));
    form.push(("action", "save"));
    let r = b.post("/share", &form).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Your session ended"));
    assert!(r.body.contains("A long paragraph of careful evidence."));
    assert!(r.body.contains("value=\"Written before lunch\""));
    assert_eq!(
        count(
            &app,
            "select count(*) from practices where slug = 'written-before-lunch'"
        )
        .await,
        0
    );
}

/// Every state-changing route × every kind of person: the expected status, and nothing
/// changes when refused. Requests without the CSRF token always fail.
#[tokio::test]
async fn authorisation_matrix() {
    let app = TestApp::seeded().await;
    // The practice belongs to harbor-hs-step.
    let slug = "attendance-welcome-calls";
    let revisions = || count(&app, "select count(*) from practice_revisions");
    let before = revisions().await;
    let edit = format!("/practices/{slug}/edit");
    let submit = format!("/practices/{slug}/submit");
    let restore = format!("/practices/{slug}/restore");
    let owner_form = {
        let mut f = practice_form(
            "Welcome-back calls after an absence",
            "30",
            "Changed evidence.",
        );
        f.retain(|(k, _)| *k != "team");
        f.push(("action", "save"));
        f
    };

    struct Case<'a> {
        who: &'a str,
        role: &'a str,
        team: &'a str,
    }
    let people = [
        Case {
            who: "member of another team",
            role: "member",
            team: "bayview-ms-step",
        },
        Case {
            who: "coach",
            role: "coach",
            team: "",
        },
        Case {
            who: "admin",
            role: "admin",
            team: "",
        },
    ];
    for p in &people {
        let mut b = Browser::local(&app, p.who, p.role, p.team).await;
        assert_eq!(
            b.get(&edit).await.status,
            StatusCode::FORBIDDEN,
            "{} GET edit",
            p.who
        );
        let mut f = owner_form.clone();
        let base = "1".to_string();
        f.push(("base", &base));
        assert_eq!(
            b.submit(&edit, &f).await.status,
            StatusCode::FORBIDDEN,
            "{} POST edit",
            p.who
        );
        assert_eq!(
            b.submit(&submit, &[("confirm_privacy", "yes")])
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{} submit",
            p.who
        );
        assert_eq!(
            b.submit(&restore, &[("revision", "1")]).await.status,
            StatusCode::FORBIDDEN,
            "{} restore",
            p.who
        );
        // Drafts of other teams stay private; coaches may read them (they review them).
        let preview = b.get(&format!("/practices/{slug}/preview")).await.status;
        assert_eq!(
            preview,
            if p.role == "member" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            "{} preview",
            p.who
        );
    }
    // Anonymous: pages redirect to sign-in, posts are refused.
    let mut anon = Browser::new(&app);
    assert_eq!(anon.get(&edit).await.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.get("/share").await.status, StatusCode::SEE_OTHER);
    for path in [&submit, &restore, &"/signout".to_string()] {
        let r: Resp = anon.post(path, &[("revision", "1")]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous POST {path}");
    }
    assert_eq!(
        anon.post(&edit, &owner_form).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(revisions().await, before, "nothing changed for the refused");

    // The owning team's member: allowed — but never without the CSRF token.
    let mut owner = Browser::local(&app, "Hal Owner", "member", "harbor-hs-step").await;
    let page = owner.get(&edit).await;
    assert_eq!(page.status, StatusCode::OK);
    let base = csrf_field(&page.body, "base");
    let mut f = owner_form.clone();
    f.push(("base", &base));
    for path in [&submit, &restore] {
        assert_eq!(
            owner.post(path, &[("revision", "1")]).await.status,
            StatusCode::FORBIDDEN,
            "no token: {path}"
        );
    }
    assert_eq!(
        owner.post("/signout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = owner.post(&edit, &f).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "no token on the edit form: kept, not saved"
    );
    assert_eq!(revisions().await, before);
    let r = owner.submit(&edit, &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(revisions().await, before + 1);
    // The vetted revision stays public while the edit waits.
    let public = app.page(&format!("/practices/{slug}")).await;
    assert!(!public.contains("Changed evidence."));
    assert!(csrf_in(&owner.get("/me").await.body).is_some());
}

#[tokio::test]
async fn admins_manage_people_and_rebuild_the_index_and_nobody_else_can() {
    let app = TestApp::seeded().await;
    let reindex_rows = || count(&app, "select count(*) from changes where kind = 'reindex'");
    let mut dana = Browser::local(&app, "Dana Lee", "member", "").await;
    let dana_id: i64 = sql::query_scalar("select id from users where name = 'Dana Lee'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let person = dana_id.to_string();
    for who in ["member", "coach"] {
        let mut b = Browser::local(&app, &format!("Not an admin {who}"), who, "").await;
        assert_eq!(b.get("/admin").await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            b.submit("/admin/people", &[("person", &person), ("role", "admin")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            b.submit("/admin/reindex", &[]).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(reindex_rows().await, 0);
    assert_eq!(
        app.state.db.user(dana_id).await.unwrap().unwrap().role,
        brightspots::domain::Role::Member
    );

    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    assert!(admin.get("/admin").await.body.contains("Dana Lee"));
    // Without the token nothing happens.
    assert_eq!(
        admin
            .post("/admin/people", &[("person", &person), ("role", "coach")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = admin
        .submit(
            "/admin/people",
            &[
                ("person", &person),
                ("role", "coach"),
                ("team", "harbor-hs-step"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let dana_now = app.state.db.user(dana_id).await.unwrap().unwrap();
    assert!(dana_now.is_coach() && dana_now.teams.iter().any(|t| t.slug == "harbor-hs-step"));
    // Dana's next request sees the new team: she may now edit her team's practice.
    assert_eq!(
        dana.get("/practices/attendance-welcome-calls/edit")
            .await
            .status,
        StatusCode::OK
    );
    let r = admin
        .submit(
            "/admin/people",
            &[("person", &person), ("team", "no-such-team")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        admin.submit("/admin/reindex", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(reindex_rows().await, 1);
    app.indexed().await;
    let (status, body) = app.get("/api/v1/search?q=attendance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("attendance-welcome-calls"),
        "searchable after the rebuild"
    );
}

#[tokio::test]
async fn autosave_answers_the_script_and_drafts_and_sessions_survive_a_restart() {
    let mut app = TestApp::seeded().await;
    let cookies = {
        let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
        let form = with(
            practice_form("Autosaved practice", "30", "Typed, not yet saved by hand."),
            &[("action", "autosave")],
        );
        let token = b.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend(form);
        let body = serde_urlencoded::to_string(&all).unwrap();
        let r = b.request("POST", "/share", Some(body)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let page = b.get("/practices/autosaved-practice/edit").await;
        assert!(page.body.contains("Typed, not yet saved by hand."));
        assert!(
            page.body.contains("/static/autosave-"),
            "the script is on the form"
        );
        // A stale autosave (a teammate saved meanwhile) is refused for the script to report.
        let stale = with(
            practice_form("Autosaved practice", "30", "Other text."),
            &[("action", "autosave"), ("base", "0")],
        );
        assert_eq!(
            b.submit("/practices/autosaved-practice/edit", &stale)
                .await
                .status,
            StatusCode::CONFLICT
        );
        b.cookies.clone()
    };
    app.restart().await;
    let mut b = Browser::new(&app);
    b.cookies = cookies;
    let page = b.get("/practices/autosaved-practice/edit").await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the session survived the restart"
    );
    assert!(
        page.body.contains("Typed, not yet saved by hand."),
        "so did the draft"
    );
    let (status, js) = app
        .get(&format!(
            "/static/autosave-{}.js",
            brightspots::web::asset_version()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("X-Base"));
}

#[tokio::test]
async fn invalid_utf8_is_explained_not_stored() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = b.csrf().await;
    let body =
        format!("csrf={token}&team=bayview-ms-step&stage=promising&title=Caf%E9+talk&action=save");
    let r = b.request("POST", "/share", Some(body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("not valid text (UTF-8)"), "{}", r.body);
    assert_eq!(
        count(
            &app,
            "select count(*) from practices where slug like 'caf%'"
        )
        .await,
        0
    );
}

/// A vetted practice whose team is editing it is both public and in draft: `/me` and the
/// quarterly CSV say both, not "Draft".
#[tokio::test]
async fn a_vetted_practice_with_an_edit_in_draft_says_both() {
    let app = TestApp::seeded().await;
    let slug = "attendance-welcome-calls"; // vetted, of harbor-hs-step
    let mut hal = Browser::local(&app, "Hal Owner", "member", "harbor-hs-step").await;
    let edit = hal.get(&format!("/practices/{slug}/edit")).await.body;
    let base = csrf_field(&edit, "base");
    let mut f = practice_form("Welcome-back calls after an absence", "30", "New evidence.");
    f.retain(|(k, _)| *k != "team");
    f.extend([("action", "save"), ("base", base.as_str())]);
    let r = hal.submit(&format!("/practices/{slug}/edit"), &f).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let me = hal.get("/me").await.body;
    let at = me
        .find("Welcome-back calls after an absence")
        .expect("listed");
    let row = &me[me[..at].rfind("<tr>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Vetted · edit in draft"), "{row}");
    assert!(
        row.contains(&format!("href=\"/practices/{slug}\"")),
        "public: {row}"
    );

    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    coach
        .submit(
            "/plc",
            &[("quarter", &quarter), ("held_on", &today.to_string())],
        )
        .await;
    let csv = coach.get(&format!("/plc/{quarter}.csv")).await.body;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows.iter().find(|r| &r[0] == slug).unwrap();
    assert_eq!(&row[column("status")], "vetted", "{row:?}");
    assert_eq!(&row[column("pending_edit")], "draft", "{row:?}");
    let other = rows.iter().find(|r| &r[0] == "cognate-word-walls").unwrap();
    assert_eq!(
        (&other[column("status")], &other[column("pending_edit")]),
        ("vetted", "")
    );
}

/// A value that is none of a choice field's choices — a tampered form, a stale page, a
/// script — is a problem shown next to its field, with everything typed kept: never a 500.
#[tokio::test]
async fn unknown_choices_in_the_share_form_are_problems_next_to_their_fields() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    // (posted name, the value it replaces, the field the problem is shown at, what it says)
    let cases = [
        (
            "area",
            "academic-discourse",
            "areas",
            "is not a challenge area",
        ),
        ("grade", "6-8", "grades", "is not a grade band"),
        ("subject", "math", "subjects", "is not a subject"),
        (
            "stage",
            "confirmed",
            "stage",
            "choose promising or confirmed",
        ),
        (
            "team",
            "bayview-ms-step",
            "team",
            "choose one of your teams",
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
            let mut form = practice_form("Restate, then add", "30", "Talk rose from 41% to 78%.");
            let posted = form.iter_mut().find(|(k, v)| *k == name && *v == good);
            posted.unwrap_or_else(|| panic!("{name}")).1 = bogus;
            form.push(("action", "save"));
            let r = b.submit("/share", &form).await;
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
                "value=\"Restate, then add\"",
                "Talk rose from 41% to 78%.",
                "- The teacher waits five seconds",
                "value=\"Observation tally\"",
                "value=\"talk moves, discourse\"",
            ] {
                assert!(r.body.contains(kept), "{name}={bogus}: {kept} kept");
            }
        }
    }
    assert_eq!(
        count(
            &app,
            "select count(*) from practices where slug = 'restate-then-add'"
        )
        .await,
        0
    );

    // The edit form of a practice too.
    let slug = "cognate-word-walls"; // bayview-ms-step's
    let edit = b.get(&format!("/practices/{slug}/edit")).await.body;
    let base = csrf_field(&edit, "base");
    let mut form = practice_form("Cognate word walls", "30", "New evidence.");
    form.retain(|(k, _)| *k != "team");
    form.iter_mut().find(|(k, _)| *k == "area").unwrap().1 = "null";
    form.extend([("action", "save"), ("base", base.as_str())]);
    let r = b.submit(&format!("/practices/{slug}/edit"), &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(field_block(&r.body, "areas").contains("is not a challenge area"));
    assert!(r.body.contains("New evidence."));
}

/// An edit that changes one field keeps every other one as the team wrote it: the licence,
/// the order of the challenge areas (the first is the practice's main one), the measures'
/// designs, what it takes.
#[tokio::test]
async fn an_edit_keeps_everything_the_person_did_not_change() {
    let app = TestApp::seeded().await;
    let slug = "ninth-grade-success-advisory";
    let before = app.state.db.edit_target(slug).await.unwrap().unwrap().doc;
    assert_eq!(before.license.as_deref(), None, "the seed file names none");
    let mut harbor = Browser::local(&app, "Hana", "member", "harbor-hs-step").await;
    let page = harbor.get(&format!("/practices/{slug}/edit")).await.body;
    assert!(
        page.contains("<label for=\"license\">Licence"),
        "the form shows the licence"
    );
    let mut fields = crate::helpers::form_values(&page, "#share-form");
    for (k, v) in fields.iter_mut() {
        match k.as_str() {
            "summary" => v.push_str(" Goal cards can be on screen."),
            "license" => *v = "CC-BY-SA-4.0".into(),
            _ => {}
        }
    }
    fields.push(("action".into(), "save".into()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = harbor.post(&format!("/practices/{slug}/edit"), &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = app.state.db.edit_target(slug).await.unwrap().unwrap().doc;
    assert!(after.summary.ends_with("Goal cards can be on screen."));
    assert_eq!(after.license.as_deref(), Some("CC-BY-SA-4.0"));
    // Network order would put chronic absenteeism first.
    assert_eq!(after.challenge_areas, before.challenge_areas);
    assert_eq!(after.measures, before.measures);
    assert_eq!(after.cost, before.cost);
    assert_eq!(after.sections, before.sections);
    assert_eq!(after.tags, before.tags);
    assert_eq!(after.resources, before.resources);
}

/// Times are written for people ("December 2, 2026, 05:15 UTC"), the machine form kept in
/// `<time datetime>`.
#[tokio::test]
async fn history_shows_times_for_people() {
    let app = TestApp::seeded().await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let page = ada
        .get("/practices/number-talks-sentence-frames/history")
        .await
        .body;
    assert!(page.contains("<time datetime=\""), "{page}");
    let shown: Vec<&str> = page
        .split("<time datetime=\"")
        .skip(1)
        .map(|rest| rest.split('>').nth(1).unwrap().split('<').next().unwrap())
        .collect();
    assert!(!shown.is_empty());
    for s in shown {
        assert!(
            !s.ends_with('Z') && !s.contains("-") && s.contains(", 20"),
            "shown as {s:?}"
        );
    }
}

/// A draft may leave the evidence stage for later; a submission may not.
#[tokio::test]
async fn a_draft_may_leave_the_stage_for_later_but_a_submission_must_choose_it() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut form: Vec<(&str, &str)> = practice_form("Stage later", "28", "Talk rose.")
        .into_iter()
        .filter(|(k, _)| *k != "stage")
        .collect();
    form.push(("action", "submit"));
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_block(&r.body, "stage").contains("choose promising or confirmed"),
        "{}",
        r.body
    );
    form.pop();
    form.push(("action", "save"));
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let edit = b.get(&r.location.unwrap()).await.body;
    assert!(
        field_block(&edit, "stage").contains("value=\"promising\" checked"),
        "kept as promising, and shown so: {edit}"
    );
}
