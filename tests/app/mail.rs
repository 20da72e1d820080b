//! E-mail through a real SMTP server (aiosmtpd over TCP, see `smtp.rs`): who hears about
//! what, both parts and the RFC 8058 headers, signed unsubscribe links that work without
//! signing in and stop only their one thing; subscriptions immediate and weekly; privacy
//! (draft text only to its team and the coaches, subscriptions only of public practices);
//! the outbox when the server is down or refuses; with e-mail off, nothing is queued.

use axum::http::StatusCode;
use brightspots::notify;
use brightspots::store::{Draft, sql};

use crate::helpers::{Browser, TestApp};
use crate::review::{field, rubric, send, share, vet};
use crate::smtp::{self, Received, SmtpServer};

async fn hub(server: &SmtpServer) -> TestApp {
    let port = server.port;
    TestApp::seeded_with(move |s| {
        s.network_name = "Coastal NIC".into();
        s.smtp = Some(smtp::settings(port));
    })
    .await
}

/// The path and query of an absolute link to the hub.
fn local_path(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

/// Every message passes what any message must: sent to one person, from the hub, with the
/// network's name, both parts, why the person got it and a one-click unsubscribe.
fn well_formed(m: &Received) {
    assert_eq!(m.rcpt_tos.len(), 1, "one recipient per message");
    assert_eq!(m.mail_from, "hub@brightspots.test");
    assert!(m.subject().starts_with("[Coastal NIC] "), "{}", m.subject());
    assert_eq!(m.content_type, "multipart/alternative");
    let html = m.html.as_deref().expect("an HTML part");
    assert!(html.contains("name=\"viewport\""), "readable on a phone");
    assert!(
        m.text().contains("You get this e-mail because"),
        "{}",
        m.text()
    );
    assert!(html.contains("You get this e-mail because"));
    assert_eq!(
        m.headers["list-unsubscribe-post"],
        "List-Unsubscribe=One-Click"
    );
    let link = m.unsubscribe_url();
    assert!(
        link.starts_with("http://127.0.0.1:3000/unsubscribe?t="),
        "{link}"
    );
    assert!(m.text().contains(&link), "the link is in the text too");
    assert!(m.headers.contains_key("message-id"));
}

/// Maya's team submits "Restate, then add" for review.
async fn submit_practice(maya: &mut Browser<'_>) {
    let r = send(
        maya,
        "/share",
        &share("Restate, then add", "Talk rose.", &[("action", "submit")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

async fn outbox_states(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, _, _, state, _)| state)
        .collect()
}

#[tokio::test]
async fn each_event_reaches_the_people_it_concerns_and_nobody_else() {
    let server = SmtpServer::start().await;
    let app = hub(&server).await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let _otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let _ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;
    // A coach whose address no provider vouched for is never e-mailed.
    let _uma = Browser::local(&app, "Uma Unconfirmed", "coach", "").await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update users set email_confirmed = 0 where email = 'uma.unconfirmed@local'")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Submitted: the coaches hear (Cora's district has no coach of its own: every coach).
    let r = send(
        &mut maya,
        "/share",
        &share(
            "Restate, then add",
            "DRAFT-EVIDENCE talk rose from 41% to 78%.",
            &[("action", "submit")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let slug = "restate-then-add";
    let got = server.wait_for(1).await;
    let m = &got[0];
    assert_eq!(m.to(), "cora.coach@local");
    assert_eq!(
        m.subject(),
        "[Coastal NIC] Waiting for review: Restate, then add"
    );
    assert!(
        m.text()
            .contains(&format!("http://127.0.0.1:3000/review/{slug}"))
    );
    well_formed(m);

    // Returned: the team hears, with the coach's comment.
    let page = cora.get(&format!("/review/{slug}")).await.body;
    let revision = field(&page, "revision");
    let r = cora
        .submit(
            &format!("/review/{slug}"),
            &rubric(
                &revision,
                "return",
                "RETURN-COMMENT say how many classrooms.",
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let got = server.wait_for(2).await;
    let m = &got[1];
    assert_eq!(m.to(), "maya.member@local");
    assert_eq!(
        m.subject(),
        "[Coastal NIC] Returned with comments: Restate, then add"
    );
    assert!(
        m.text()
            .contains("> RETURN-COMMENT say how many classrooms."),
        "{}",
        m.text()
    );
    assert!(m.html.as_deref().unwrap().contains("RETURN-COMMENT"));
    well_formed(m);

    // Resubmitted and vetted: the coaches, then the team, hear.
    let base = field(
        &maya.get(&format!("/practices/{slug}/edit")).await.body,
        "base",
    );
    let r = send(
        &mut maya,
        &format!("/practices/{slug}/edit"),
        &share(
            "Restate, then add",
            "Talk rose from 41% to 78% in 6 classrooms.",
            &[("action", "submit"), ("base", &base)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    server.wait_for(3).await;
    vet(&mut cora, slug).await;
    let got = server.wait_for(4).await;
    let m = &got[3];
    assert_eq!(
        (m.to(), m.subject()),
        (
            "maya.member@local",
            "[Coastal NIC] Vetted: Restate, then add"
        )
    );
    assert!(
        m.text()
            .contains(&format!("http://127.0.0.1:3000/practices/{slug}"))
    );

    // Privacy: draft text and the comment reached only the team and the coaches.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let all = server.received();
    assert_eq!(
        all.len(),
        4,
        "{:#?}",
        all.iter()
            .map(|m| (m.to(), m.subject()))
            .collect::<Vec<_>>()
    );
    for m in &all {
        assert!(
            ["maya.member@local", "cora.coach@local"].contains(&m.to()),
            "{} got {}",
            m.to(),
            m.subject()
        );
        let body = format!("{}{}", m.text(), m.html.as_deref().unwrap_or(""));
        assert!(
            !body.contains("DRAFT-EVIDENCE"),
            "no practice text goes by e-mail"
        );
    }
    assert_eq!(outbox_states(&app).await, vec!["sent"; 4]);
}

#[tokio::test]
async fn a_turned_off_kind_is_not_sent_and_one_click_unsubscribe_turns_it_off() {
    let server = SmtpServer::start().await;
    let app = hub(&server).await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let _cole = Browser::local(&app, "Cole Coach", "coach", "").await;

    // Cole's settings page lists the coaches' kinds, ticked; Maya's does not list them.
    let page = maya.get("/me/notifications").await.body;
    assert!(page.contains("A practice of your team is returned with comments, or vetted"));
    assert!(!page.contains("A practice is submitted for review"));
    assert!(!page.contains("E-mail is off"));
    let page = cora.get("/me/notifications").await.body;
    assert!(
        page.contains("id=\"on-review-submitted\" name=\"on\" value=\"review-submitted\" checked")
    );

    // Cora turns submissions off (everything else stays ticked).
    let mut ticked: Vec<(&str, &str)> = notify::KINDS
        .iter()
        .map(|k| ("on", k.id))
        .filter(|(_, id)| *id != notify::SUBMITTED)
        .collect();
    ticked.push(("on", "not-a-kind"));
    let r = cora.submit("/me/notifications", &ticked).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !cora
            .get("/me/notifications")
            .await
            .body
            .contains("value=\"review-submitted\" checked")
    );

    submit_practice(&mut maya).await;
    let got = server.wait_for(1).await;
    assert_eq!(
        got[0].to(),
        "cole.coach@local",
        "only the coach who left it on"
    );

    // Cole's one-click unsubscribe, as a mail client sends it: no cookies, no CSRF token.
    let link = local_path(&got[0].unsubscribe_url());
    let mut client = Browser::new(&app);
    let r = client
        .request("POST", &link, Some("List-Unsubscribe=One-Click".into()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("you will no longer get"), "{}", r.body);
    let cole: i64 = sql::query_scalar("select id from users where email = 'cole.coach@local'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(
        app.state.db.notifications_off(cole).await.unwrap(),
        vec![notify::SUBMITTED]
    );

    // A tampered link does nothing and says so.
    let (path, query) = link.split_once("?t=").unwrap();
    let (payload, tag) = query.split_once('.').unwrap();
    let mut forged = tag.to_string();
    forged.replace_range(0..1, if forged.starts_with('A') { "B" } else { "A" });
    for bad in [
        format!("{path}?t={payload}.{forged}"),
        format!("{path}?t=garbage"),
    ] {
        let r = client
            .request("POST", &bad, Some("List-Unsubscribe=One-Click".into()))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body.contains("not valid"));
    }
}

#[tokio::test]
async fn subscriptions_announce_public_practices_immediately_or_in_a_weekly_digest() {
    let server = SmtpServer::start().await;
    let app = hub(&server).await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let mut ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;
    cora.submit("/me/notifications", &[]).await; // Cora hears nothing of her own.

    // Ivy subscribes from the pages: the area at once, a search and a school weekly.
    let area = ivy.get("/challenges/academic-discourse").await.body;
    assert!(
        area.contains("E-mail me new practices like these"),
        "the area page offers it"
    );
    for (target, value, delivery) in [
        ("area", "academic-discourse", "immediate"),
        ("search", "q=restate&grade=6-8", "weekly"),
        ("school", "harbor-hs", "weekly"),
    ] {
        let r = ivy
            .submit(
                "/me/subscriptions",
                &[("target", target), ("value", value), ("delivery", delivery)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    // Sam wants a search at once: it is matched on the index, once the index has the news.
    let mut sam = Browser::local(&app, "Sam Searcher", "member", "").await;
    let r = sam
        .submit(
            "/me/subscriptions",
            &[
                ("target", "search"),
                ("value", "q=restate"),
                ("delivery", "immediate"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = ivy
        .submit(
            "/me/subscriptions",
            &[("target", "team"), ("value", "no-such-team")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let settings = ivy.get("/me/notifications").await.body;
    assert!(
        settings.contains("Challenge area: Academic discourse"),
        "{settings}"
    );
    assert!(settings.contains("Search: “restate”"), "{settings}");

    // A submission is not public: no subscriber hears of it.
    submit_practice(&mut maya).await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        server.to("ivy.teacher@local").is_empty(),
        "nothing non-public"
    );

    // Vetted: Ivy's and Sam's immediate subscriptions tell them; Maya hears it was vetted.
    vet(&mut cora, "restate-then-add").await;
    let got = server.wait_for(3).await;
    let to_sam = server.to("sam.searcher@local");
    assert_eq!(to_sam.len(), 1, "{got:#?}");
    assert!(
        to_sam[0]
            .text()
            .contains("your subscription “Search: “restate””"),
        "{}",
        to_sam[0].text()
    );
    let to_ivy: Vec<&Received> = got
        .iter()
        .filter(|m| m.to() == "ivy.teacher@local")
        .collect();
    assert_eq!(to_ivy.len(), 1, "{got:#?}");
    let m = to_ivy[0];
    assert_eq!(m.subject(), "[Coastal NIC] New practice: Restate, then add");
    assert!(m.text().contains("Challenge area: Academic discourse"));
    well_formed(m);

    // A re-review that finds it still current is no news to subscribers; the team hears it.
    vet(&mut cora, "restate-then-add").await;
    let got = server.wait_for(4).await;
    assert_eq!(got[3].to(), "maya.member@local");
    assert_eq!(
        got[3].subject(),
        "[Coastal NIC] Re-reviewed: Restate, then add"
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        server.to("ivy.teacher@local").len(),
        1,
        "a re-review is no news"
    );

    // The weekly digest groups the week's practices by subscription: the search matched it,
    // the school did not; nothing for someone whose subscriptions matched nothing.
    let until = notify::digest::next_run(brightspots::auth::now());
    let added = notify::digest::run(&app.state, until).await.unwrap();
    assert_eq!(added, 1);
    app.state.wake_mail.notify_one();
    let got = server.wait_for(5).await;
    let digest = &got[4];
    assert_eq!(digest.to(), "ivy.teacher@local");
    assert_eq!(
        digest.subject(),
        "[Coastal NIC] This week: 1 practice for you"
    );
    assert!(
        digest.text().contains("Search: “restate”, Grade band"),
        "{}",
        digest.text()
    );
    assert!(digest.text().contains("New: Restate, then add"));
    assert!(
        !digest.text().contains("School: Harbor"),
        "a subscription without news is left out"
    );
    well_formed(digest);
    assert_eq!(
        notify::digest::run(&app.state, until).await.unwrap(),
        0,
        "once a week"
    );

    // The immediate message's link ends that one subscription, without signing in.
    let link = local_path(&m.unsubscribe_url());
    let mut anonymous = Browser::new(&app);
    let confirm = anonymous.get(&link).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .body
            .contains("Stop your subscription “Challenge area: Academic discourse”?")
    );
    let ivy_id: i64 = sql::query_scalar("select id from users where email = 'ivy.teacher@local'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(
        app.state.db.subscriptions_of(ivy_id).await.unwrap().len(),
        3,
        "GET changes nothing"
    );
    let token = link.split_once("?t=").unwrap().1;
    let r = anonymous.post("/unsubscribe", &[("t", token)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let left: Vec<String> = app
        .state
        .db
        .subscriptions_of(ivy_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.target)
        .collect();
    assert_eq!(
        left,
        vec!["school", "search"],
        "only that subscription ended"
    );
}

/// A message straight into the outbox, as the notify job writes it.
pub(crate) fn draft(n: usize, user: i64) -> Draft {
    Draft {
        dedupe: format!("test:{n}"),
        user_id: user,
        to_addr: format!("reader{n}@district.test"),
        kind: notify::REVIEWED.into(),
        subject: format!("Message {n}"),
        body_text: format!("Text {n}"),
        body_html: format!("<p>HTML {n}</p>"),
        unsubscribe: "http://127.0.0.1:3000/unsubscribe?t=x".into(),
    }
}

async fn some_user(app: &TestApp) -> i64 {
    app.state
        .db
        .create_person("reader@district.test", "Reader")
        .await
        .unwrap()
}

#[tokio::test]
async fn messages_wait_while_the_server_is_down_and_go_once_when_it_is_back() {
    let port = smtp::free_port();
    let app = TestApp::configured(move |s| s.smtp = Some(smtp::settings(port))).await;
    let user = some_user(&app).await;
    let drafts: Vec<Draft> = (0..3).map(|n| draft(n, user)).collect();
    assert_eq!(
        app.state
            .db
            .enqueue_mail(&drafts, brightspots::auth::now())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        app.state
            .db
            .enqueue_mail(&drafts, brightspots::auth::now())
            .await
            .unwrap(),
        0,
        "once"
    );
    app.state.wake_mail.notify_one();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let outbox = app.state.db.outbox().await.unwrap();
    assert!(
        outbox
            .iter()
            .all(|(_, _, _, state, attempts)| state == "pending" && *attempts == 0),
        "nothing is claimed while the server cannot be reached: {outbox:?}"
    );

    let server = SmtpServer::start_with(&["--port", &port.to_string()]).await;
    let got = server.wait_for(3).await;
    let mut subjects: Vec<&str> = got.iter().map(|m| m.subject()).collect();
    subjects.sort();
    assert_eq!(subjects, ["Message 0", "Message 1", "Message 2"]);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(server.received().len(), 3, "each once");
    assert_eq!(outbox_states(&app).await, vec!["sent"; 3]);
    // Administrators see how e-mail is going.
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let page = admin.get("/admin").await.body;
    assert!(
        page.contains(&format!("E-mail goes out through 127.0.0.1:{port}")),
        "{page}"
    );
    assert!(
        page.contains("<th scope=\"row\">Sent</th><td>3</td>"),
        "{page}"
    );
}

#[tokio::test]
async fn a_message_the_server_refuses_for_now_is_retried_later() {
    let server = SmtpServer::start_with(&["--refuse-first", "1"]).await;
    let port = server.port;
    let app = TestApp::configured(move |s| s.smtp = Some(smtp::settings(port))).await;
    let user = some_user(&app).await;
    app.state
        .db
        .enqueue_mail(&[draft(0, user)], brightspots::auth::now())
        .await
        .unwrap();
    app.state.wake_mail.notify_one();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let retry_at = loop {
        let row: (String, i64, i64, Option<String>) =
            sql::query_as("select state, attempts, run_after, last_error from outbox")
                .fetch_one(app.state.db.reader())
                .await
                .unwrap();
        if row.1 == 1 && row.0 == "pending" {
            assert!(row.3.unwrap().contains("451"), "the refusal is recorded");
            break row.2;
        }
        assert!(std::time::Instant::now() < deadline, "{row:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        retry_at > brightspots::auth::now() + 30,
        "it waits before trying again"
    );
    assert!(server.received().is_empty());
    // Due now: it goes.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update outbox set run_after = 0")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.state.wake_mail.notify_one();
    assert_eq!(server.wait_for(1).await[0].subject(), "Message 0");
}

#[tokio::test]
async fn with_email_off_nothing_is_queued_and_the_settings_page_says_so() {
    let app = TestApp::seeded().await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let _cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let page = maya.get("/me/notifications").await.body;
    assert!(page.contains("E-mail is off on this hub"), "{page}");
    submit_practice(&mut maya).await;
    // The notify job runs and leaves nothing behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .state
        .db
        .jobs()
        .await
        .unwrap()
        .iter()
        .any(|j| j.0 == notify::JOB)
    {
        assert!(std::time::Instant::now() < deadline, "the notify job ran");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(app.state.db.outbox().await.unwrap().is_empty());
    assert!(
        app.state
            .db
            .jobs()
            .await
            .unwrap()
            .iter()
            .all(|j| j.0 != notify::digest::JOB)
    );
}

#[tokio::test]
async fn teams_hear_of_adoptions_outcomes_replication_and_revisions_and_coaches_of_plc_and_due_dates()
 {
    use brightspots::domain::SectionKind;

    let server = SmtpServer::start().await;
    let app = hub(&server).await;
    const SLUG: &str = "reciprocal-teaching-roles"; // Bayview Middle School's
    let target = app.state.db.edit_target(SLUG).await.unwrap().unwrap();
    let all: Vec<usize> = (1..=target.doc.essential_aspects().len()).collect();
    let _olga = Browser::local(&app, "Olga Owner", "member", "bayview-ms-step").await;
    let mut hal = Browser::local(&app, "Hal Harbor", "member", "harbor-hs-step").await;
    let mut rita = Browser::local(&app, "Rita River", "member", "riverside-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let adopt = async |b: &mut Browser<'_>, team: &str, outcome: &str| {
        let r = crate::adopt::send(
            b,
            &crate::adopt::adoption(team, "adopted", &all, outcome, "student-outcome", "40"),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    };
    let server = &server;
    let olga = async |n: usize| {
        server
            .wait_for(n)
            .await
            .into_iter()
            .filter(|m| m.to() == "olga.owner@local")
            .collect::<Vec<_>>()
    };

    // Harbor adopts, then reports: the team that wrote it hears each, with no measure values.
    adopt(&mut hal, "harbor-hs-step", "").await;
    let m = olga(1).await.pop().unwrap();
    assert!(
        m.subject().contains("Harbor High School adopted"),
        "{}",
        m.subject()
    );
    adopt(&mut hal, "harbor-hs-step", "improved").await;
    let m = olga(2).await.pop().unwrap();
    assert!(
        m.subject().contains("reported an outcome"),
        "{}",
        m.subject()
    );
    assert!(m.text().contains(": improved."), "{}", m.text());
    assert!(
        !m.text().contains("51") && !m.text().contains("38"),
        "no measure values"
    );

    // Riverside's improving report makes it replicated: the team hears that too.
    adopt(&mut rita, "riverside-ms-step", "improved").await;
    let got = olga(4).await;
    let subjects: Vec<&str> = got.iter().map(|m| m.subject()).collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Riverside Middle School adopted")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("Replicated: ")),
        "{subjects:?}"
    );

    // Revised with a new essential aspect: both adopting teams hear what changed.
    let mut doc = target.doc.clone();
    let aspects = doc
        .sections
        .get(&SectionKind::EssentialAspects)
        .unwrap()
        .clone();
    doc.sections.insert(
        SectionKind::EssentialAspects,
        format!("{aspects}\n- Students swap roles every week"),
    );
    let olga_id = app
        .state
        .db
        .user_id_by_email("olga.owner@local")
        .await
        .unwrap()
        .unwrap();
    app.state
        .db
        .save_draft(olga_id, &doc, Some(target.current_revision_id), true)
        .await
        .unwrap();
    vet(&mut cora, SLUG).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let revised = loop {
        let revised: Vec<Received> = server
            .received()
            .into_iter()
            .filter(|m| m.subject().contains("Revised: "))
            .collect();
        if revised.len() >= 2 {
            break revised;
        }
        assert!(std::time::Instant::now() < deadline, "{revised:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut to: Vec<&str> = revised.iter().map(|m| m.to()).collect();
    to.sort();
    assert_eq!(to, ["hal.harbor@local", "rita.river@local"]);
    assert!(
        revised[0]
            .text()
            .contains("Added: Students swap roles every week"),
        "{}",
        revised[0].text()
    );
    assert!(revised[0].text().contains("matters for fidelity"));
    // The link is one adopters may open (the history is the team's and the coaches').
    let link = format!("Read the new revision: http://127.0.0.1:3000/practices/{SLUG}\n");
    assert!(revised[0].text().contains(&link), "{}", revised[0].text());
    let page = hal.get(&format!("/practices/{SLUG}")).await;
    assert_eq!(page.status, StatusCode::OK);

    // A PLC session opened: the coaches get the packet's link.
    let before = server.received().len();
    let quarter = brightspots::domain::Quarter::containing(time::OffsetDateTime::now_utc().date())
        .to_string();
    let r = cora
        .submit("/plc", &[("quarter", &quarter), ("held_on", "2026-12-10")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let got = server.wait_for(before + 1).await;
    let m = got
        .iter()
        .find(|m| m.subject().contains("PLC session opened"))
        .unwrap();
    assert_eq!(m.to(), "cora.coach@local");
    assert!(m.text().contains(&format!("/plc/{quarter}")));

    // The daily check: practices that fell due for re-review (to coaches) and outcome reports
    // that fell overdue (to the adopting team) — each told once.
    let before = server.received().len();
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update adoptions set outcome = null where team_id = (select id from teams where slug = 'harbor-hs-step')")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let added = notify::daily::run(&app.state, "2000-01-01", "2099-12-31")
        .await
        .unwrap();
    assert_eq!(
        added, 2,
        "one list for the coach, one reminder for Harbor's one member"
    );
    app.state.wake_mail.notify_one();
    let got = server.wait_for(before + 2).await;
    let due = got
        .iter()
        .find(|m| m.subject().contains("due for re-review"))
        .unwrap();
    assert_eq!(due.to(), "cora.coach@local");
    let overdue = got
        .iter()
        .find(|m| m.subject().contains("What happened with"))
        .unwrap();
    assert_eq!(overdue.to(), "hal.harbor@local");
    assert!(overdue.text().contains(&format!("/practices/{SLUG}/adopt")));
    assert_eq!(
        notify::daily::run(&app.state, "2000-01-01", "2099-12-31")
            .await
            .unwrap(),
        0,
        "not twice"
    );
}

#[tokio::test]
async fn a_digest_lists_ten_practices_per_subscription_then_links_the_rest() {
    let app = TestApp::seeded().await;
    let mut ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;
    let r = ivy
        .submit("/me/subscriptions", &[("target", "search"), ("value", "")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Twelve practices became public this week (as their submissions and vettings record).
    let now = brightspots::auth::now();
    let at = time::OffsetDateTime::from_unix_timestamp(now - 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    for kind in ["submitted", "vetted"] {
        sql::query(
            r#"insert into practice_events (practice_id, revision_id, kind, at)
               select id, public_revision_id, $1, $2 from practices
               where status = 'vetted' order by id limit 12"#,
        )
        .bind(kind)
        .bind(at.as_str())
        .execute(&mut tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    app.indexed().await;
    let drafts = notify::digest::compose(&app.state, now + 60).await.unwrap();
    assert_eq!(drafts.len(), 1);
    let text = &drafts[0].body_text;
    assert!(
        drafts[0]
            .subject
            .ends_with("This week: 12 practices for you"),
        "{}",
        drafts[0].subject
    );
    assert_eq!(
        text.matches("\n- New: ").count() + text.matches("\n- Revised: ").count(),
        10,
        "{text}"
    );
    assert!(
        text.contains("- …and 2 more\n  http://127.0.0.1:3000/search?sort=newest"),
        "{text}"
    );
}
