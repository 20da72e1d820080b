//! Coach review through the real router: return with comments, revise, resubmit, vet;
//! self-vetting and stale decisions refused; archive; only coaches get in.

use axum::http::StatusCode;
use brightspots::store::sql;

use crate::helpers::{Browser, TestApp};

/// Every rubric criterion scored `meets`, plus the given fields.
pub(crate) fn rubric<'a>(
    revision: &'a str,
    decision: &'a str,
    comment: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("revision", revision),
        ("decision", decision),
        ("comment", comment),
    ];
    for name in [
        "score-0", "score-1", "score-2", "score-3", "score-4", "score-5",
    ] {
        f.push((name, "meets"));
    }
    f
}

pub(crate) fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

pub(crate) fn share(title: &str, evidence: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("title", title),
        (
            "summary",
            "Students restate a peer's idea before adding their own.",
        ),
        ("team", "bayview-ms-step"),
        ("stage", "confirmed"),
        ("area", "academic-discourse"),
        ("grade", "6-8"),
        ("subject", "math"),
        (
            "s-what-it-is",
            "Before adding an idea, a student restates the previous one.",
        ),
        ("s-evidence", evidence),
        ("s-essential-aspects", "- Restate before you add"),
        ("s-necessary-conditions", "- A posted sentence frame"),
        ("m-name", "Students who spoke"),
        ("m-ingredient", "student-outcome"),
        ("m-unit", "percent"),
        ("m-instrument", "Tally"),
        ("m-baseline", "41"),
        ("m-result", "78"),
        ("m-n", "28"),
        ("m-period", "Fall 2025"),
        ("confirm_privacy", "yes"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f
}

/// A coach vets the current revision of `slug` from its review page; the decision must be
/// accepted.
pub(crate) async fn vet(coach: &mut Browser<'_>, slug: &str) {
    let revision = field(
        &coach.get(&format!("/review/{slug}")).await.body,
        "revision",
    );
    let r = coach
        .submit(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

pub(crate) async fn send(
    b: &mut Browser<'_>,
    path: &str,
    fields: &[(String, String)],
) -> crate::helpers::Resp {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.submit(path, &refs).await
}

async fn status_of(app: &TestApp, slug: &str) -> String {
    sql::query_scalar("select status from practices where slug = $1")
        .bind(slug)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn submit_return_revise_resubmit_vet() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let mut ben = Browser::local(&app, "Ben Coach", "coach", "").await;
    let mut own = Browser::local(&app, "Cleo Coach", "coach", "bayview-ms-step").await;

    let r = send(
        &mut rosa,
        "/share",
        &share(
            "Restate, then add",
            "Talk rose from 41% to 78%.",
            &[("action", "submit")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let slug = "restate-then-add";

    // A second submission whose evidence names a contact: the queue counts its flags.
    let r = send(
        &mut rosa,
        "/share",
        &share(
            "Tally talk moves",
            "Ask maria.lopez@example.org for the tally sheets.",
            &[("action", "submit")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The queue lists it with its team, age and flags; the page has the rubric.
    let queue = ada.get("/review").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("Restate, then add") && queue.body.contains("Bayview"));
    let row = |title: &str| {
        let at = queue.body.find(title).unwrap();
        queue.body[at..at + queue.body[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row("Restate, then add").contains("<td>none</td>"));
    assert!(
        row("Tally talk moves").contains("<td><strong>1</strong></td>"),
        "{}",
        row("Tally talk moves")
    );
    let queue = ada.get("/review?district=pine-valley-sd").await.body;
    assert!(!queue.contains("Restate, then add"), "the district filter");
    let page = ada.get(&format!("/review/{slug}")).await.body;
    assert!(page.contains("Essential aspects are specific and observable"));
    let revision = field(&page, "revision");

    // An empty rubric, and a return without a comment, are refused with what to do.
    let r = ada
        .submit(
            &format!("/review/{slug}"),
            &[
                ("revision", &revision),
                ("decision", "return"),
                ("comment", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Score every criterion"));
    let r = ada
        .submit(&format!("/review/{slug}"), &rubric(&revision, "return", ""))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Write a comment for the team"));

    // A coach on the team cannot decide on it.
    let r = own
        .submit(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, slug).await, "submitted");

    // Returned with comments: the team sees them on /me and on the edit page.
    let r = ada
        .submit(
            &format!("/review/{slug}"),
            &rubric(&revision, "return", "Say how many classrooms tried it."),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(&app, slug).await, "returned");
    assert!(
        rosa.get("/me")
            .await
            .body
            .contains("Say how many classrooms tried it.")
    );
    let edit = rosa.get(&format!("/practices/{slug}/edit")).await.body;
    assert!(edit.contains("Say how many classrooms tried it."));
    let (status, _) = app.get(&format!("/practices/{slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not public while returned");

    // Ben opens the review; meanwhile the team revises and resubmits: Ben's decision is stale.
    let base = field(&edit, "base");
    let r = send(
        &mut rosa,
        &format!("/practices/{slug}/edit"),
        &share(
            "Restate, then add",
            "Talk rose from 41% to 78% in 6 classrooms.",
            &[("action", "submit"), ("base", &base)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ben_page = ben.get(&format!("/review/{slug}")).await.body;
    let fresh = field(&ben_page, "revision");
    assert_ne!(fresh, revision);
    let r = ben
        .submit(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body
            .contains("changed this practice after it was submitted")
    );
    assert_eq!(status_of(&app, slug).await, "submitted");

    // Vetted: public, says who vetted it when, searchable, with the trail in the history.
    let r = ben
        .submit(
            &format!("/review/{slug}"),
            &rubric(&fresh, "vet", "Clear and tried in six rooms."),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let public = app.page(&format!("/practices/{slug}")).await;
    assert!(public.contains("in 6 classrooms") && public.contains("Vetted by a network coach on"));
    app.indexed().await;
    let (_, found) = app.get("/api/v1/search?q=restate").await;
    assert!(found.contains(slug), "{found}");
    let history = rosa.get(&format!("/practices/{slug}/history")).await.body;
    assert!(
        history.contains("Ben Coach vetted revision 2")
            && history.contains("Ada Coach returned revision 1")
    );
}

#[tokio::test]
async fn a_vetted_practice_stays_public_while_its_edit_waits_and_archive_retires_it() {
    let app = TestApp::seeded().await;
    let slug = "attendance-welcome-calls";
    let mut hal = Browser::local(&app, "Hal Owner", "member", "harbor-hs-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let edit = hal.get(&format!("/practices/{slug}/edit")).await.body;
    // Resend the whole stored practice with one changed section, as the form would.
    let doc = app.state.db.edit_target(slug).await.unwrap().unwrap().doc;
    let mut fields: Vec<(String, String)> = vec![
        ("base".into(), field(&edit, "base")),
        ("title".into(), doc.title.clone()),
        ("summary".into(), doc.summary.clone()),
        (
            "stage".into(),
            brightspots::domain::Vocabulary::as_str(doc.stage).into(),
        ),
    ];
    for a in &doc.challenge_areas {
        fields.push(("area".into(), a.to_string()));
    }
    for g in &doc.grade_bands {
        fields.push((
            "grade".into(),
            brightspots::domain::Vocabulary::as_str(*g).into(),
        ));
    }
    for s in &doc.subjects {
        fields.push((
            "subject".into(),
            brightspots::domain::Vocabulary::as_str(*s).into(),
        ));
    }
    for (kind, md) in &doc.sections {
        let text = if kind.key() == "what-it-is" {
            "A rewritten description of the calls.".to_string()
        } else {
            md.clone()
        };
        fields.push((format!("s-{}", kind.key()), text));
    }
    for m in &doc.measures {
        use brightspots::domain::Vocabulary;
        for (k, v) in [
            ("m-name", m.name.clone()),
            ("m-ingredient", m.ingredient.as_str().to_string()),
            ("m-unit", m.unit.as_str().to_string()),
            ("m-instrument", m.instrument.clone()),
            ("m-baseline", m.baseline.to_string()),
            ("m-result", m.result.to_string()),
            ("m-n", m.n.to_string()),
            ("m-period", m.period.clone()),
        ] {
            fields.push((k.into(), v));
        }
    }
    fields.push(("confirm_privacy".into(), "yes".into()));
    fields.push(("action".into(), "submit".into()));
    let r = send(&mut hal, &format!("/practices/{slug}/edit"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let public = app.page(&format!("/practices/{slug}")).await;
    assert!(
        !public.contains("A rewritten description"),
        "the vetted revision stays public"
    );
    assert!(public.contains("A revised version is being reviewed"));
    let review = ada.get(&format!("/review/{slug}")).await.body;
    assert!(
        review.contains("Changes from the public version")
            && review.contains("A rewritten description")
    );
    let revision = field(&review, "revision");
    assert_eq!(
        ada.submit(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        app.page(&format!("/practices/{slug}"))
            .await
            .contains("A rewritten description")
    );

    // Archive: a reason is required; then the page says so and search drops it.
    let r = ada
        .submit(&format!("/review/{slug}/archive"), &[("comment", "")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = ada
        .submit(
            &format!("/review/{slug}/archive"),
            &[(
                "comment",
                "Replaced by the district's new attendance policy.",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        app.page(&format!("/practices/{slug}"))
            .await
            .contains("Archived.")
    );
    app.indexed().await;
    let (_, found) = app.get("/api/v1/search?q=welcome%20calls").await;
    assert!(!found.contains(slug), "{found}");
}

#[tokio::test]
async fn only_coaches_and_admins_reach_review() {
    let app = TestApp::seeded().await;
    let slug = "peer-learning-walks"; // the seed's submitted practice
    let mut member = Browser::local(&app, "Mo Member", "member", "bayview-ms-step").await;
    assert_eq!(member.get("/review").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        member.get(&format!("/review/{slug}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member
            .submit(&format!("/review/{slug}"), &rubric("1", "vet", ""))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member
            .submit(&format!("/review/{slug}/archive"), &[("comment", "no")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut anon = Browser::new(&app);
    assert_eq!(anon.get("/review").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anon.post(&format!("/review/{slug}"), &rubric("1", "vet", ""))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_of(&app, slug).await, "submitted");

    // Admins review too; without the CSRF token nothing is decided.
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let page = admin.get(&format!("/review/{slug}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let revision = field(&page.body, "revision");
    assert_eq!(
        admin
            .post(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_of(&app, slug).await, "submitted");
    assert_eq!(
        admin
            .submit(&format!("/review/{slug}"), &rubric(&revision, "vet", ""))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status_of(&app, slug).await, "vetted");
}

/// Archiving retires a *vetted* practice, never by a coach of its own team; another coach
/// restores it: public, searchable and in the history again.
#[tokio::test]
async fn only_vetted_practices_are_archived_and_another_coach_restores_them() {
    let app = TestApp::seeded().await;
    let slug = "attendance-welcome-calls"; // vetted, of harbor-hs-step
    let archive = format!("/review/{slug}/archive");
    let restore = format!("/review/{slug}/restore");
    let why = [("comment", "Replaced by the district's attendance policy.")];
    let mut own = Browser::local(&app, "Cleo Coach", "coach", "harbor-hs-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let mut ben = Browser::local(&app, "Ben Coach", "coach", "").await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;

    // A coach on the owning team may not archive it.
    let r = own.submit(&archive, &why).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("another coach"), "{}", r.body);
    assert_eq!(status_of(&app, slug).await, "vetted");

    // Neither a submitted practice nor a draft can be archived: there is nothing public to
    // retire, and returning it is what a coach does instead.
    let r = ada
        .submit("/review/peer-learning-walks/archive", &why)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("Only vetted practices can be archived"),
        "{}",
        r.body
    );
    assert_eq!(status_of(&app, "peer-learning-walks").await, "submitted");
    let draft = share("Restate, then add", "Talk rose.", &[("action", "save")]);
    assert_eq!(
        send(&mut rosa, "/share", &draft).await.status,
        StatusCode::SEE_OTHER
    );
    let r = ada.submit("/review/restate-then-add/archive", &why).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Only vetted practices can be archived"));
    assert_eq!(status_of(&app, "restate-then-add").await, "draft");
    let page = ada.get("/review/peer-learning-walks").await.body;
    assert!(
        !page.contains("/review/peer-learning-walks/archive"),
        "no archive form"
    );

    // Archived by another coach: its page offers coaches (not its own team's) a restore
    // button, a CSRF-protected form.
    assert_eq!(
        ada.submit(&archive, &why).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status_of(&app, slug).await, "archived");
    for page in [
        ada.get(&format!("/review/{slug}")).await.body,
        ada.get(&format!("/practices/{slug}")).await.body,
    ] {
        let form = &page[page
            .find(&format!("action=\"{restore}\""))
            .expect("a restore form")..];
        assert!(form[..form.find("</form>").unwrap()].contains("name=\"csrf\""));
    }
    assert!(
        !app.page(&format!("/practices/{slug}"))
            .await
            .contains(&restore)
    );
    assert!(
        !own.get(&format!("/practices/{slug}"))
            .await
            .body
            .contains(&restore)
    );

    // Not by the owning team's coach, not by a member, not without the token.
    assert_eq!(
        own.submit(&restore, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rosa.submit(&restore, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ben.post(&restore, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, slug).await, "archived");

    // Restored: public and searchable again, and kept in the history.
    let r = ben
        .submit(&restore, &[("comment", "The policy was withdrawn.")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(&app, slug).await, "vetted");
    let public = app.page(&format!("/practices/{slug}")).await;
    assert!(!public.contains("Archived."));
    app.indexed().await;
    let (_, found) = app.get("/api/v1/search?q=welcome%20calls").await;
    assert!(found.contains(slug), "{found}");
    let history = ada.get(&format!("/practices/{slug}/history")).await.body;
    assert!(history.contains("Ada Coach archived revision"), "{history}");
    assert!(
        history.contains("Ben Coach restored revision")
            && history.contains("The policy was withdrawn."),
        "{history}"
    );

    // The quarterly review lists the restore and counts the practice in the catalog again.
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    ada.submit(
        "/plc",
        &[("quarter", &quarter), ("held_on", &today.to_string())],
    )
    .await;
    let plc = ada.get(&format!("/plc/{quarter}")).await.body;
    assert!(plc.contains("Restored to the catalog (1)"), "{plc}");
    let totals = &plc[plc
        .find("Vetted practices in the catalog at the end of each quarter")
        .unwrap()..];
    assert!(
        totals.contains(&format!(
            r#"<th scope="row">{quarter}</th><td class="num">16</td>"#
        )),
        "the seed's 16 vetted, the restored one among them"
    );

    // A practice that is not archived cannot be restored.
    let r = ben.submit(&restore, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("is not archived"), "{}", r.body);
}
