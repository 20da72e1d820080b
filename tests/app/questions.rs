//! Questions to the team through the real router: members-only reading, the teams' answers
//! marked, who may hide, CSRF, bad input kept in the re-shown form, privacy flags as the
//! share-out form has them, e-mail through the outbox, and `questions.toml`.

use axum::http::StatusCode;
use brightspots::content::{load_dir, write_dir};
use brightspots::store::{export_catalog, import_catalog, import_dir, sql};

use crate::helpers::{Browser, TestApp, seed_copy};
use crate::smtp;

/// Lincoln Elementary's practice, adopted by Riverside and Pine Valley in the seed.
const SLUG: &str = "number-talks-sentence-frames";

/// Asks `text` and returns the new question's id.
async fn ask(b: &mut Browser<'_>, text: &str) -> i64 {
    let r = b
        .submit(&format!("/practices/{SLUG}/questions"), &[("text", text)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.location.unwrap();
    let (path, id) = location.split_once("#question-").unwrap();
    assert_eq!(path, format!("/practices/{SLUG}"));
    id.parse().unwrap()
}

async fn answer(b: &mut Browser<'_>, id: i64, text: &str) -> crate::helpers::Resp {
    b.submit(
        &format!("/practices/{SLUG}/questions/{id}/answers"),
        &[("text", text)],
    )
    .await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sql::query_scalar(format!("select count(*) from {table}"))
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// The `<li>` of the answer holding `text`.
fn answer_block<'a>(page: &'a str, text: &str) -> &'a str {
    let at = page
        .find(text)
        .unwrap_or_else(|| panic!("no {text}: {page}"));
    let start = page[..at].rfind("<li").unwrap();
    &page[start..at]
}

#[tokio::test]
async fn questions_and_answers_reach_signed_in_members_only_with_the_teams_answers_marked() {
    let app = TestApp::seeded().await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    let mut marcus = Browser::local(&app, "Marcus Riverside", "member", "riverside-ms-step").await;
    let mut ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;

    let id = ask(&mut otto, "QASKTOKEN How long did the frames stay posted?").await;
    let r = answer(
        &mut rosa,
        id,
        "QANSWERTOKEN All year, one frame added a week.",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = answer(&mut marcus, id, "QADOPTTOKEN We kept them up all year too.").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = answer(&mut ivy, id, "QMEMBERTOKEN Thanks, useful.").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let page = ivy.get(&format!("/practices/{SLUG}")).await.body;
    assert!(page.contains("<h2 id=\"s-questions\">Questions to the team</h2>"));
    assert!(page.contains(&format!("id=\"question-{id}\"")));
    for token in ["QASKTOKEN", "QANSWERTOKEN", "QADOPTTOKEN", "QMEMBERTOKEN"] {
        assert!(page.contains(token), "{token}: {page}");
    }
    // The answers are threaded in order under the question.
    let (q, a1, a2) = (
        page.find("QASKTOKEN").unwrap(),
        page.find("QANSWERTOKEN").unwrap(),
        page.find("QADOPTTOKEN").unwrap(),
    );
    assert!(q < a1 && a1 < a2);
    assert!(answer_block(&page, "QANSWERTOKEN").contains("Originating team"));
    assert!(answer_block(&page, "QADOPTTOKEN").contains("Adopting team"));
    let plain = answer_block(&page, "QMEMBERTOKEN");
    assert!(
        !plain.contains("Originating team") && !plain.contains("Adopting team"),
        "{plain}"
    );
    // The seed's question shows too, with its originating team's answer marked.
    assert!(page.contains("Dana Whitfield"));
    // The asker's team is named beside the question.
    assert!(
        page.contains("Otto Outsider <span class=\"muted\">(Harbor High School STEP team)"),
        "{page}"
    );

    // Anonymous readers, the API, feeds and search never see any of it.
    let public = app.page(&format!("/practices/{SLUG}")).await;
    assert!(!public.contains("s-questions"), "{public}");
    for token in ["QASKTOKEN", "QANSWERTOKEN", "Dana Whitfield"] {
        assert!(!public.contains(token), "{token}");
        for path in [
            format!("/api/v1/practices/{SLUG}"),
            "/feed.atom".to_string(),
            "/teams/lincoln-es-step/feed.atom".to_string(),
            "/search?q=qasktoken".to_string(),
            "/api/v1/search?q=qasktoken".to_string(),
        ] {
            let (_, body) = app.get(&path).await;
            assert!(!body.contains(token), "{path}: {token}");
        }
    }
}

#[tokio::test]
async fn only_the_originating_team_and_coaches_hide_and_show_a_question() {
    let app = TestApp::seeded().await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    let mut marcus = Browser::local(&app, "Marcus Riverside", "member", "riverside-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let mut ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;
    let id = ask(&mut otto, "QHIDETOKEN Off-topic question.").await;
    let hide = format!("/practices/{SLUG}/questions/{id}/hide");
    let unhide = format!("/practices/{SLUG}/questions/{id}/unhide");
    let page = format!("/practices/{SLUG}");

    // Only the team and the coaches see the buttons, and only they may use them.
    assert!(!ivy.get(&page).await.body.contains("Hide this question"));
    assert!(rosa.get(&page).await.body.contains("Hide this question"));
    for who in [&mut marcus, &mut otto, &mut ivy] {
        let r = who.submit(&hide, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("Only the team that shared this practice"));
    }
    assert!(ivy.get(&page).await.body.contains("QHIDETOKEN"));

    let r = rosa.submit(&hide, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for who in [&mut ivy, &mut otto, &mut marcus] {
        assert!(!who.get(&page).await.body.contains("QHIDETOKEN"));
    }
    for who in [&mut rosa, &mut cora] {
        let body = who.get(&page).await.body;
        assert!(body.contains("QHIDETOKEN"), "{body}");
        assert!(body.contains("<strong>Hidden.</strong>"));
        assert!(body.contains("Show this question again"));
    }
    // A hidden question is not there for others to answer or to show again.
    let r = answer(&mut ivy, id, "An answer.").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = marcus.submit(&unhide, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = answer(&mut rosa, id, "An answer.").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, "answers").await, 2, "the seed's answers only");

    // The coach shows it again; then a member of the team hides it again.
    let r = cora.submit(&unhide, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(ivy.get(&page).await.body.contains("QHIDETOKEN"));
    let r = cora.submit(&hide, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!ivy.get(&page).await.body.contains("QHIDETOKEN"));
    let r = rosa.submit(&unhide, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(ivy.get(&page).await.body.contains("QHIDETOKEN"));

    // A question of another practice is not reached through this one.
    let r = rosa
        .submit(
            &format!("/practices/exit-ticket-regrouping/questions/{id}/hide"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_question_route_needs_a_session_and_its_csrf_token() {
    let app = TestApp::seeded().await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    let id = ask(&mut otto, "A question.").await;
    let (questions, answers) = (count(&app, "questions").await, count(&app, "answers").await);
    let routes = [
        format!("/practices/{SLUG}/questions"),
        format!("/practices/{SLUG}/questions/{id}/answers"),
        format!("/practices/{SLUG}/questions/{id}/hide"),
    ];
    for path in &routes {
        let r = rosa.post(path, &[("text", "Forged.")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
        let r = rosa
            .post(path, &[("csrf", "wrong"), ("text", "Forged.")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        let r = Browser::new(&app)
            .post(path, &[("text", "Anonymous.")])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(count(&app, "questions").await, questions);
    assert_eq!(count(&app, "answers").await, answers);
    let hidden: i64 = sql::query_scalar("select count(*) from questions where hidden <> 0")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(hidden, 0);
}

#[tokio::test]
async fn bad_input_shows_the_page_again_with_the_text_kept() {
    let app = TestApp::seeded().await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let path = format!("/practices/{SLUG}/questions");
    let before = count(&app, "questions").await;

    let r = otto.submit(&path, &[("text", "   ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Your question must not be empty"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("aria-invalid=\"true\" aria-describedby=\"question-error\"")
    );

    let long = format!("KEEPLONG {}", "x".repeat(2_000));
    let r = otto.submit(&path, &[("text", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("the limit is 2000"), "{}", r.body);
    assert!(r.body.contains(&long), "the text is kept");

    // Flagged text is shown with what was flagged, kept, and posted once confirmed — as the
    // share-out form treats its flags.
    let flagged = "In week 3, Maria scored 45 on the exit ticket: what would you do next?";
    let r = otto.submit(&path, &[("text", flagged)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Check for student privacy"), "{}", r.body);
    assert!(
        r.body
            .contains("name next to a score: “In week 3, Maria scored 45")
    );
    assert!(r.body.contains("may identify a student"));
    assert!(r.body.contains("name=\"confirm_privacy\" value=\"yes\""));
    assert!(
        r.body.contains(&format!(">{flagged}</textarea>")),
        "{}",
        r.body
    );
    assert_eq!(count(&app, "questions").await, before, "nothing saved");
    let r = otto
        .submit(&path, &[("text", flagged), ("confirm_privacy", "yes")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(count(&app, "questions").await, before + 1);

    // An answer's form keeps its text under its own question.
    let id = ask(&mut otto, "Which grades?").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    // The team (and the coaches) see the flags of a posted question, to decide on hiding it.
    let page = format!("/practices/{SLUG}");
    assert!(
        rosa.get(&page)
            .await
            .body
            .contains("This question may identify a student")
    );
    assert!(
        !otto
            .get(&page)
            .await
            .body
            .contains("This question may identify a student")
    );
    let email = "Write to maria.l@lincoln.k12.us for the data.";
    let r = answer(&mut rosa, id, email).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let start = r.body.find(&format!("id=\"f-answer-{id}\"")).unwrap();
    let form = &r.body[start..start + r.body[start..].find("</form>").unwrap()];
    assert!(form.contains("an email address"), "{form}");
    let at = r.body.find(&format!("id=\"answer-{id}\"")).unwrap();
    assert!(r.body[at..].contains(&format!(">{email}</textarea>")));
    let r = answer(&mut rosa, id, "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Your answer must not be empty"));

    // A question id that is not one is not found, not a failure.
    let r = rosa
        .submit(
            &format!("/practices/{SLUG}/questions/x1/answers"),
            &[("text", "Hi")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = rosa
        .submit("/practices/no-such-practice/questions", &[("text", "Hi")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// The messages of `kind` in the outbox, by address, once the notify job has written `n`.
async fn outbox_of(app: &TestApp, kind: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut to: Vec<String> = app
            .state
            .db
            .outbox()
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, k, _, _, _)| k == kind)
            .map(|(to, _, _, _, _)| to)
            .collect();
        if to.len() >= n || std::time::Instant::now() > deadline {
            to.sort();
            return to;
        }
        app.state.wake_jobs.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_question_mails_each_member_of_the_teams_and_an_answer_the_asker() {
    // Nothing listens on the port: the messages wait in the outbox, where the test reads them.
    let port = smtp::free_port();
    let app = TestApp::seeded_with(move |s| s.smtp = Some(smtp::settings(port))).await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    let _leo = Browser::local(&app, "Leo Lincoln", "member", "lincoln-es-step").await;
    let _lou = Browser::local(&app, "Lou Lincoln", "member", "lincoln-es-step").await;
    let _marcus = Browser::local(&app, "Marcus Riverside", "member", "riverside-ms-step").await;
    let _pia = Browser::local(&app, "Pia Pine", "member", "pine-valley-k8-step").await;
    let _ivy = Browser::local(&app, "Ivy Teacher", "member", "").await;
    let _cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    // Lou turned questions off.
    let lou = app
        .state
        .db
        .user_id_by_email("lou.lincoln@local")
        .await
        .unwrap()
        .unwrap();
    app.state
        .db
        .set_notification(lou, brightspots::notify::QUESTION, false)
        .await
        .unwrap();

    // A webhook that wants every event hears nothing of questions (members-only text).
    let events = brightspots::webhooks::EVENTS
        .iter()
        .map(|(e, _)| e.to_string())
        .collect();
    let hook = brightspots::store::NewWebhook {
        url: "http://127.0.0.1:9/hooks".into(),
        secret: brightspots::auth::Secret::new("s3cret"),
        events,
        district_id: None,
        challenge_area_id: None,
    };
    app.state
        .db
        .add_webhook(&hook, lou, brightspots::auth::now())
        .await
        .unwrap();

    let id = ask(
        &mut otto,
        "QMAILTOKEN Did the frames help your English learners?",
    )
    .await;
    let to = outbox_of(&app, brightspots::notify::QUESTION, 4).await;
    assert_eq!(
        to,
        [
            "leo.lincoln@local",
            "marcus.riverside@local",
            "pia.pine@local",
            "rosa.lincoln@local"
        ],
        "one message per member of the originating and adopting teams, not the asker, not who turned it off"
    );
    let outbox = app.state.db.outbox().await.unwrap();
    let subject = &outbox
        .iter()
        .find(|(_, k, _, _, _)| k == brightspots::notify::QUESTION)
        .unwrap()
        .2;
    assert!(
        subject.contains("A question about Number talks with sentence frames"),
        "{subject}"
    );
    let body: String = sql::query_scalar("select body_text from outbox where kind = $1 limit 1")
        .bind(brightspots::notify::QUESTION)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert!(body.contains("QMAILTOKEN"), "{body}");
    assert!(
        body.contains(&format!("/practices/{SLUG}#question-{id}")),
        "{body}"
    );

    let r = answer(&mut rosa, id, "Yes: most of all.").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let to = outbox_of(&app, brightspots::notify::ANSWERED, 1).await;
    assert_eq!(to, ["otto.outsider@local"]);
    // The asker answering their own question tells nobody; no webhook carries any of it.
    let r = answer(&mut otto, id, "Thank you!").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        outbox_of(&app, brightspots::notify::ANSWERED, 2)
            .await
            .len(),
        1
    );
    assert_eq!(
        outbox_of(&app, brightspots::notify::QUESTION, 5)
            .await
            .len(),
        4,
        "once"
    );
    let hooks: i64 = sql::query_scalar("select count(*) from outbox where channel <> 'mail'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(hooks, 0);
}

fn questions_file(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("questions.toml")).unwrap()
}

#[tokio::test]
async fn questions_round_trip_through_export_and_import() {
    let app = TestApp::seeded().await;
    let mut otto = Browser::local(&app, "Otto Outsider", "member", "harbor-hs-step").await;
    let mut rosa = Browser::local(&app, "Rosa Lincoln", "member", "lincoln-es-step").await;
    let id = ask(&mut otto, "Two lines:\nfirst, then \"second\".").await;
    let r = answer(&mut rosa, id, "An answer.").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let hidden = ask(&mut otto, "A hidden one.").await;
    let r = rosa
        .submit(&format!("/practices/{SLUG}/questions/{hidden}/hide"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let min = app.state.settings.min_cell();
    let out1 = tempfile::tempdir().unwrap();
    write_dir(out1.path(), &export_catalog(&app.state.db).await.unwrap()).unwrap();
    let file = questions_file(out1.path());
    assert!(
        file.contains("asked_by = \"Otto Outsider\"\nteam = \"harbor-hs-step\""),
        "{file}"
    );
    assert!(
        file.contains("text = \"Two lines:\\nfirst, then \\\"second\\\".\""),
        "{file}"
    );
    assert!(file.contains("answered_by = \"Rosa Lincoln\"\nteam = \"lincoln-es-step\""));
    assert!(
        file.contains("text = \"A hidden one.\"\nhidden = true"),
        "{file}"
    );

    let other = TestApp::empty().await;
    let catalog = load_dir(out1.path(), min).unwrap();
    assert_eq!(catalog.questions.len(), 3);
    let report = import_catalog(&other.state.db, &catalog).await.unwrap();
    assert_eq!(report.questions, 3);
    let out2 = tempfile::tempdir().unwrap();
    write_dir(out2.path(), &export_catalog(&other.state.db).await.unwrap()).unwrap();
    assert_eq!(questions_file(out2.path()), file);

    // Importing the same files again adds nothing.
    import_catalog(&other.state.db, &catalog).await.unwrap();
    assert_eq!(count(&other, "questions").await, 3);
    assert_eq!(count(&other, "answers").await, 3);
    // The imported answer of the originating team is still marked, and the hidden question
    // is hidden for members.
    let mut ivy = Browser::local(&other, "Ivy Teacher", "member", "").await;
    let page = ivy.get(&format!("/practices/{SLUG}")).await.body;
    assert!(answer_block(&page, "An answer.").contains("Originating team"));
    assert!(!page.contains("A hidden one."));
}

#[tokio::test]
async fn an_invalid_questions_file_names_file_line_and_field_and_imports_nothing() {
    let app = TestApp::empty().await;
    let dir = seed_copy();
    let good = questions_file(dir.path());
    let bad = good
        .replacen(
            "team = \"riverside-ms-step\"",
            "team = \"riverside-step\"",
            1,
        )
        .replacen(
            "practice = \"number-talks-sentence-frames\"",
            "practice = \"number-talk\"",
            1,
        )
        .replacen("answered_on = 2025-10-16", "answered_on = 2025-10-01", 1);
    std::fs::write(dir.path().join("questions.toml"), &bad).unwrap();
    let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;

    let result = import_dir(
        async || {
            Ok((
                app.state.db.begin_write().await?,
                app.state.db.renderer().clone(),
            ))
        },
        dir.path(),
        app.state.settings.min_cell(),
        |_, _| {},
    )
    .await
    .unwrap();
    let errors = result.unwrap_err();
    let found = |field: &str| {
        errors
            .iter()
            .find(|e| e.field.as_deref() == Some(field))
            .unwrap_or_else(|| panic!("{field}: {errors:?}"))
    };
    let e = found("question[1].answers[1].answered_on");
    assert!(e.file.ends_with("questions.toml"));
    assert_eq!(e.line, Some(line("answered_on = 2025-10-01")));
    assert!(e.message.contains("before the question was asked"), "{e}");
    let e = found("question[1].answers[2].team");
    assert_eq!(e.line, Some(line("team = \"riverside-step\"")));
    assert!(
        e.message
            .contains("\"riverside-step\" is not a team in network.toml")
    );
    let e = found("question[1].practice");
    assert_eq!(e.line, Some(line("practice = \"number-talk\"")));
    assert!(
        e.to_string()
            .contains("questions.toml:2: question[1].practice"),
        "{e}"
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(app.state.db.is_empty().await.unwrap(), "nothing imported");
    assert_eq!(count(&app, "questions").await, 0);

    // Not TOML at all: the file and line, and still nothing.
    std::fs::write(dir.path().join("questions.toml"), "[[question]\n").unwrap();
    let errors = load_dir(dir.path(), app.state.settings.min_cell()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("questions.toml"));
    assert_eq!(errors[0].line, Some(1));
}
