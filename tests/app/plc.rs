//! The quarterly cross-district review, with its figures computed from the seed catalog.

use axum::http::StatusCode;
use brightspots::store::{Dialect, sql};

use crate::helpers::{Browser, TestApp};

fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).unwrap() + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

async fn logged(app: &TestApp, n: i64) {
    for _ in 0..200 {
        let rows: i64 = sql::query_scalar("select count(*) from search_log")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
        if rows >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("searches were not logged");
}

#[tokio::test]
async fn a_session_gathers_the_quarter_and_exports_it() {
    let app = TestApp::seeded().await;
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    let mut member = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;

    // Something to review this quarter: a submission that gets vetted, an archived practice,
    // and searches that found nothing.
    let share: Vec<(&str, &str)> = vec![
        ("title", "Restate, then add"),
        (
            "summary",
            "Students restate a peer's idea before adding their own.",
        ),
        ("team", "bayview-ms-step"),
        ("stage", "promising"),
        ("area", "teacher-collaboration"),
        ("grade", "6-8"),
        ("subject", "math"),
        ("s-what-it-is", "A talk routine."),
        ("s-evidence", "Seen in two positive outliers."),
        ("s-essential-aspects", "- Restate before you add"),
        ("s-necessary-conditions", "- A posted frame"),
        ("confirm_privacy", "yes"),
        ("action", "submit"),
    ];
    assert_eq!(
        member.submit("/share", &share).await.status,
        StatusCode::SEE_OTHER
    );
    let review = coach.get("/review/restate-then-add").await.body;
    let mut decide = vec![
        ("revision", field(&review, "revision")),
        ("decision", "vet".into()),
        ("comment", String::new()),
    ];
    for i in 0..6 {
        decide.push((
            [
                "score-0", "score-1", "score-2", "score-3", "score-4", "score-5",
            ][i],
            "meets".into(),
        ));
    }
    let decide: Vec<(&str, &str)> = decide.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        coach
            .submit("/review/restate-then-add", &decide)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        coach
            .submit(
                "/review/bus-route-attendance-buddies/archive",
                &[("comment", "The buses changed.")]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    for q in ["robotics club", "robotics club", "xyzzy plugh"] {
        app.get(&format!("/search?q={}", q.replace(' ', "+"))).await;
    }
    logged(&app, 3).await;

    // Opening: bad input is explained; a second opening of the same quarter too.
    let r = coach
        .submit("/plc", &[("quarter", "2026-Q5"), ("held_on", "2026-12-10")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("quarters look like 2026-Q4") && r.body.contains("value=\"2026-Q5\""));
    let held = today.to_string();
    let r = coach
        .submit(
            "/plc",
            &[
                ("quarter", &quarter),
                ("held_on", &held),
                ("notes", "Coaches from all three districts."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let again = coach
        .submit("/plc", &[("quarter", &quarter), ("held_on", &held)])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("already open"));
    let (status, body) = {
        let r = coach.get("/plc/2019-Q1").await;
        (r.status, r.body)
    };
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("No session has been opened for 2019-Q1"));
    assert_eq!(
        coach.get("/plc/last-quarter").await.status,
        StatusCode::BAD_REQUEST
    );

    // The page's figures, from the seed catalog plus what happened above.
    let page = coach.get(&format!("/plc/{quarter}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let p = &page.body;
    assert!(p.contains("since the hub began"));
    assert!(p.contains("Submitted (1)") && p.contains("Restate, then add"));
    // 16 vetted seed practices (imported with their vetting dates) and the one vetted today.
    assert!(p.contains("Vetted (17)"), "vetted count");
    assert!(p.contains("Archived (1)") && p.contains("bus-route-attendance-buddies"));
    assert!(
        p.contains("Adoptions and what they report (5)"),
        "the seed's five adoptions"
    );
    assert!(p.contains("Due for re-review (1)") && p.contains("/review/reciprocal-teaching-roles"));
    // Teacher collaboration had only a submitted practice until today's vetting.
    assert!(p.contains("Every challenge area has at least one vetted practice"));
    assert!(p.contains("<th scope=\"row\">robotics club</th><td class=\"num\">2</td>"));
    assert!(p.contains("xyzzy plugh"));
    assert!(p.contains("role=\"img\"") && p.contains("Submissions per quarter"));
    // At the end of this quarter: the 17 vetted, less the one archived today.
    let totals = &p[p
        .find("Vetted practices in the catalog at the end of each quarter")
        .unwrap()..];
    let totals = &totals[..totals.find("</table>").unwrap()];
    assert!(
        totals.contains(&format!(
            r#"<th scope="row">{quarter}</th><td class="num">16</td>"#
        )),
        "{totals}"
    );

    // The decision log keeps its entries; an empty one is explained with the text kept.
    let d = format!("/plc/{quarter}/decisions");
    let r = coach
        .submit(&d, &[("agenda", "Attendance"), ("decision", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"Attendance\""));
    let r = coach
        .submit(
            &d,
            &[
                ("agenda", "Attendance"),
                (
                    "decision",
                    "Invite Riverside to write up their attendance calls",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        coach
            .get(&format!("/plc/{quarter}"))
            .await
            .body
            .contains("Invite Riverside to write up their attendance calls")
    );

    // The CSV parses and agrees with the page and the database.
    let csv = coach.get(&format!("/plc/{quarter}.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        &headers,
        vec![
            "slug",
            "title",
            "team",
            "district",
            "status",
            "stage",
            "adoptions",
            "last_review",
            "due_on",
            "pending_edit"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 18, "17 seed practices and the new one");
    let row = |slug: &str| rows.iter().find(|r| &r[0] == slug).unwrap().clone();
    let new = row("restate-then-add");
    assert_eq!((&new[4], &new[7]), ("vetted", today.to_string().as_str()));
    assert_eq!(&row("bus-route-attendance-buddies")[4], "archived");
    assert_eq!(
        &row("number-talks-sentence-frames")[6],
        "2",
        "adopted and adapted count"
    );
    let vetted_in_csv = rows.iter().filter(|r| &r[4] == "vetted").count();
    assert_eq!(
        vetted_in_csv, 16,
        "17 vetted on the page, one of them archived since"
    );

    // The catalog-wide figures are kept between views only until the catalog changes:
    // archiving the practice due for re-review shows at once.
    assert_eq!(
        coach
            .submit(
                "/review/reciprocal-teaching-roles/archive",
                &[("comment", "Replaced by a newer routine.")]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let p = coach.get(&format!("/plc/{quarter}")).await.body;
    assert!(
        p.contains(&format!(
            r#"<th scope="row">{quarter}</th><td class="num">15</td>"#
        )),
        "the total after a second archiving"
    );
    assert!(!p.contains("Due for re-review (1)"), "nothing due any more");
}

#[tokio::test]
async fn only_coaches_reach_the_quarterly_review() {
    let app = TestApp::seeded().await;
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    assert_eq!(
        coach
            .submit("/plc", &[("quarter", "2026-Q4"), ("held_on", "2026-12-10")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let mut member = Browser::local(&app, "Mo Member", "member", "bayview-ms-step").await;
    for path in ["/plc", "/plc/2026-Q4", "/plc/2026-Q4.csv"] {
        assert_eq!(
            member.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        member
            .submit("/plc", &[("quarter", "2027-Q1"), ("held_on", "2027-03-01")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member
            .submit(
                "/plc/2026-Q4/decisions",
                &[("agenda", "a"), ("decision", "b")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut anon = Browser::new(&app);
    assert_eq!(anon.get("/plc/2026-Q4").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anon.post(
            "/plc/2026-Q4/decisions",
            &[("agenda", "a"), ("decision", "b")]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    // A coach without the token changes nothing.
    assert_eq!(
        coach
            .post(
                "/plc/2026-Q4/decisions",
                &[("agenda", "a"), ("decision", "b")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let decisions: i64 = sql::query_scalar("select count(*) from plc_decisions")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let sessions: i64 = sql::query_scalar("select count(*) from plc_sessions")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!((decisions, sessions), (0, 1));
}

/// The items of the list that follows `heading` on `page`, and the "more" line after it.
fn list_after<'a>(page: &'a str, heading: &str) -> (usize, &'a str) {
    let at = page.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let rest = &page[at..];
    let end = rest.find("</ul>").unwrap();
    let after = &rest[end..];
    let next = after.find("<h").unwrap_or(after.len());
    (rest[..end].matches("<li>").count(), &after[..next])
}

/// A network's catalog is long: the session page and the review queue show the first fifty
/// of each list and say how many more there are; the totals count every one.
#[tokio::test]
async fn long_lists_show_fifty_and_how_many_more() {
    // Re-review after a month: most of the generated catalog is due.
    let app = TestApp::configured(|s| s.rereview_months = 1).await;
    brightspots::store::import_catalog(&app.state.db, &brightspots::generate::catalog(150, 7))
        .await
        .unwrap();
    app.indexed().await;
    let vetted: i64 = sql::query_scalar(
        "select count(*) from practices where vetted_on is not null and public_revision_id is not null",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(vetted > 50, "{vetted}");
    // A practice that was never public but carries a vetting date (as an imported export of a
    // submitted practice can) is not due for re-review.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let changed = sql::query(
        "update practices set vetted_on = '2000-01-01' where id =
           (select id from practices where public_revision_id is null limit 1)",
    )
    .execute(&mut tx)
    .await
    .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    tx.commit().await.unwrap();
    let d = app.state.db.dialect();
    let public_due: i64 = sql::query_scalar(format!(
        "select count(*) from practices p where p.public_revision_id is not null
           and p.status <> 'archived' and {} <= {}
           and not exists (select 1 from adoptions a where a.practice_id = p.id
                           and coalesce(a.updated_at, a.started_on) > p.vetted_on)",
        d.months_after("p.vetted_on", "1"),
        d.today()
    ))
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    let held = today.to_string();
    let r = coach
        .submit("/plc", &[("quarter", &quarter), ("held_on", &held)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = coach.get(&format!("/plc/{quarter}")).await.body;
    let (shown, more) = list_after(&page, &format!("Vetted ({vetted})"));
    assert_eq!(shown, 50);
    assert!(
        more.contains(&format!("…and {} more.", vetted - 50)),
        "{more}"
    );

    // The coverage table (from the index's counts) agrees with the database, cell by cell.
    let rows: Vec<(String, String, String)> = sql::query_as(
        r#"select a.slug, a.name, r.grade_bands
           from practices p join practice_revisions r on r.id = p.public_revision_id
           join revision_challenge_areas rca on rca.revision_id = r.id
           join challenge_areas a on a.id = rca.challenge_area_id
           where p.status <> 'archived' order by a.slug"#,
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    let mut counted: std::collections::BTreeMap<(String, String, String), i64> = Default::default();
    for (slug, name, bands) in rows {
        for band in serde_json::from_str::<Vec<String>>(&bands).unwrap() {
            *counted
                .entry((slug.clone(), name.clone(), band))
                .or_default() += 1;
        }
    }
    let cells: Vec<(String, String, String, i64)> = counted
        .into_iter()
        .map(|((a, n, g), c)| (a, n, g, c))
        .collect();
    let (slug, name) = (&cells[0].0, &cells[0].1);
    use brightspots::domain::Vocabulary;
    let row: Vec<String> = brightspots::domain::GradeBand::ALL
        .iter()
        .map(|g| {
            let n = cells
                .iter()
                .find(|c| &c.0 == slug && c.2 == g.as_str())
                .map_or(0, |c| c.3);
            format!(r#"<td class="num">{n}</td>"#)
        })
        .collect();
    assert!(
        page.contains(&format!(
            r#"<th scope="row"><a href="/challenges/{slug}">{name}</a></th>{}"#,
            row.concat()
        )),
        "{slug}: {row:?}"
    );

    let due: i64 = {
        let marker = "Due for re-review (";
        let at = page.find(marker).unwrap() + marker.len();
        page[at..at + page[at..].find(')').unwrap()]
            .parse()
            .unwrap()
    };
    assert!(due > 50, "{due}");
    assert_eq!(due, public_due, "only public practices are due");
    for body in [page.clone(), coach.get("/review").await.body] {
        let (shown, more) = list_after(&body, &format!("Due for re-review ({due})"));
        assert_eq!(shown, 50);
        assert!(more.contains(&format!("…and {} more.", due - 50)), "{more}");
    }
}

/// An empty hub has nothing to index: its quarterly view shows the (empty) coverage table,
/// not the notice that the index is being rebuilt.
#[tokio::test]
async fn an_empty_hub_is_not_rebuilding() {
    let app = TestApp::empty().await;
    // Its first pass (over nothing) ends; then nothing says "rebuilding".
    app.indexed().await;
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    let r = coach
        .submit(
            "/plc",
            &[("quarter", &quarter), ("held_on", &today.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = coach.get(&format!("/plc/{quarter}")).await.body;
    assert!(
        page.contains("Where the network still needs bright spots"),
        "{page}"
    );
    assert!(!page.contains("being rebuilt"));
    assert!(app.page("/").await.contains("0 vetted practices so far"));
}

/// The "Due for re-review" list of `page`: its heading and items.
fn due_section(page: &str) -> &str {
    let at = page.find("Due for re-review (").expect("a re-review list");
    let rest = &page[at..];
    &rest[..rest
        .find("</section>")
        .or(rest.find("<p><a href=\"/plc\">"))
        .unwrap()]
}

/// The queue and the quarter page answer "is it due?" with one rule: a practice is due on the
/// day `rereview_months` after its vetting, not the day before.
#[tokio::test]
async fn review_queue_and_quarter_page_agree_on_what_is_due() {
    let app = TestApp::seeded().await;
    // Three practices without adoption reports, vetted `rereview_months` ago, a day less and
    // a day more: the first two are due today, the third only tomorrow.
    let mut tx = app.state.db.begin_write().await.unwrap();
    for (slug, shift) in [
        ("cognate-word-walls", "+0 days"),
        ("exit-ticket-regrouping", "-1 day"),
        ("two-by-ten-conversations", "+1 day"),
    ] {
        let months_ago = match app.state.db.dialect() {
            Dialect::Sqlite => "date('now', '-' || $1 || ' months', $2)",
            Dialect::Postgres => {
                "to_char((now() at time zone 'utc')::date - make_interval(months => cast($1 as integer)) + cast($2 as interval), 'YYYY-MM-DD')"
            }
        };
        sql::query(format!(
            "update practices set vetted_on = {months_ago} where slug = $3"
        ))
        .bind(app.state.settings.rereview_months)
        .bind(shift)
        .bind(slug)
        .execute(&mut tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let quarter = brightspots::domain::Quarter::containing(today).to_string();
    let mut coach = Browser::local(&app, "Ada Coach", "coach", "").await;
    let r = coach
        .submit(
            "/plc",
            &[("quarter", &quarter), ("held_on", &today.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let queue = coach.get("/review").await.body;
    let session = coach.get(&format!("/plc/{quarter}")).await.body;
    let (queue, session) = (due_section(&queue), due_section(&session));
    for page in [queue, session] {
        assert!(page.contains("/review/cognate-word-walls\""), "{page}");
        assert!(page.contains("/review/exit-ticket-regrouping\""), "{page}");
        assert!(
            !page.contains("/review/two-by-ten-conversations\""),
            "due only tomorrow: {page}"
        );
    }
    let heading = |s: &str| s[..s.find(')').unwrap() + 1].to_string();
    assert_eq!(heading(queue), heading(session));
}
