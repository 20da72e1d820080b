//! Search through the real router, on the seed catalog, with a real index.

use brightspots::store::{Dialect, sql};
use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use brightspots::content::load_dir;
use brightspots::domain::{PracticeDoc, Status, Vocabulary};
use serde_json::Value;

use crate::helpers::{TestApp, seed_dir};

async fn api(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/search?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    serde_json::from_str(&body).unwrap()
}

pub fn slugs(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap().to_string())
        .collect()
}

fn q(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).unwrap()
}

/// The vetted practices of the seed catalog: what search must find, and nothing else.
fn vetted() -> Vec<PracticeDoc> {
    let c = load_dir(&seed_dir(), brightspots::domain::CellSize::DEFAULT).unwrap();
    c.practices
        .into_iter()
        .filter(|p| p.status == Status::Vetted)
        .collect()
}

#[tokio::test]
async fn teacher_queries_find_the_right_practice_in_the_top_three() {
    let app = TestApp::seeded().await;
    for (query, expected) in [
        ("kids don't talk in math", "number-talks-sentence-frames"),
        ("chronic absence 9th grade", "ninth-grade-success-advisory"),
        (
            "calling families after students miss school",
            "attendance-welcome-calls",
        ),
        ("english learners vocabulary spanish", "cognate-word-walls"),
        (
            "students can't explain their thinking in science",
            "claim-evidence-reasoning-lab-talk",
        ),
        (
            "struggling readers comprehension groups",
            "reciprocal-teaching-roles",
        ),
        (
            "older students reading with younger kids",
            "cross-age-reading-buddies",
        ),
        (
            "students who seem disconnected from school",
            "two-by-ten-conversations",
        ),
        ("morning circle greeting", "morning-meeting-check-ins"),
        ("books to take home for parents", "family-reading-bags"),
        (
            "students give up on word problems",
            "notice-and-wonder-problem-launch",
        ),
        (
            "regroup students after exit tickets",
            "exit-ticket-regrouping",
        ),
        (
            "feedback on student essays",
            "writing-conferences-with-one-next-step",
        ),
        ("rural bus attendance", "bus-route-attendance-buddies"),
    ] {
        let found = slugs(&api(&app, &format!("{}&per_page=3", q(query))).await);
        assert!(
            found.contains(&expected.to_string()),
            "{query:?} → {found:?}, expected {expected}"
        );
    }
}

#[tokio::test]
async fn misspelled_words_still_find_their_practices() {
    let app = TestApp::seeded().await;
    let v = api(&app, &q("disscourse")).await;
    assert!(v["total"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["suggestion"], "discourse");
    let found = slugs(&v);
    assert!(
        found.contains(&"turn-and-talk-with-talk-moves".to_string()),
        "{found:?}"
    );

    let found = slugs(&api(&app, &q("absenteism")).await);
    for slug in [
        "attendance-welcome-calls",
        "ninth-grade-success-advisory",
        "bus-route-attendance-buddies",
    ] {
        assert!(found.contains(&slug.to_string()), "{slug} not in {found:?}");
    }
    // Punctuation around a word changes nothing.
    let v = api(&app, &q("disscourse?")).await;
    assert_eq!(v["suggestion"], "discourse");
    assert!(slugs(&api(&app, &q("(ELL)")).await).contains(&"cognate-word-walls".to_string()));
    // Short words are not fuzzed (too many false friends) but still get a suggestion.
    let v = api(&app, &q("mth")).await;
    assert_eq!(v["total"], 0);
    assert_eq!(v["suggestion"], "math");
}

#[tokio::test]
async fn exact_matches_rank_above_fuzzy_ones() {
    let app = TestApp::seeded().await;
    let score = |v: &Value, slug: &str| {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["slug"] == slug)
            .map(|h| h["score"].as_f64().unwrap())
    };
    let exact = api(&app, &q("reading")).await;
    let fuzzy = api(&app, &q("readng")).await;
    assert_eq!(slugs(&exact)[0], slugs(&fuzzy)[0]);
    let top = slugs(&exact)[0].clone();
    assert!(score(&exact, &top).unwrap() > score(&fuzzy, &top).unwrap());
    // Both forms in one query: the practice that has the typed word itself comes first.
    let mixed = slugs(&api(&app, &q("cognate readng")).await);
    assert_eq!(mixed[0], "cognate-word-walls", "{mixed:?}");
}

#[tokio::test]
async fn education_vocabulary_finds_either_form() {
    let app = TestApp::seeded().await;
    for (query, expected) in [
        ("ELL", "cognate-word-walls"),
        ("emergent bilinguals", "sentence-stems-for-science-talk"),
        ("truancy", "attendance-welcome-calls"),
        ("SEL", "morning-meeting-check-ins"),
        ("freshmen", "ninth-grade-success-advisory"),
        ("caregivers", "family-reading-bags"),
    ] {
        let found = slugs(&api(&app, &q(query)).await);
        assert!(found.contains(&expected.to_string()), "{query} → {found:?}");
    }
}

#[tokio::test]
async fn phrases_and_exclusions() {
    let app = TestApp::seeded().await;
    let phrase = api(&app, &q("\"exit slips\"")).await;
    let words = api(&app, &q("exit slips")).await;
    assert!(phrase["total"].as_u64().unwrap() >= 1);
    assert!(
        phrase["total"].as_u64() < words["total"].as_u64(),
        "a phrase is narrower than its words"
    );
    for hit in phrase["hits"].as_array().unwrap() {
        assert!(
            hit["snippet"]
                .as_str()
                .unwrap()
                .contains("<mark>exit</mark> <mark>slips</mark>"),
            "{hit}"
        );
    }
    // A snippet cut from the middle of a long section says so at both cuts.
    for hit in phrase["hits"].as_array().unwrap() {
        let snippet = hit["snippet"].as_str().unwrap();
        assert!(
            snippet.starts_with("… ") && snippet.ends_with(" …"),
            "{snippet}"
        );
    }
    // Found through its word pairs: the words in another order are not the phrase.
    assert_eq!(api(&app, &q("\"slips exit\"")).await["total"], 0);
    // A phrase around a stop word is checked word by word, in order.
    let turn = slugs(&api(&app, &q("\"turn and talk\"")).await);
    assert!(
        turn.contains(&"turn-and-talk-with-talk-moves".to_string()),
        "{turn:?}"
    );
    assert_eq!(api(&app, &q("\"talk and turn\"")).await["total"], 0);
    // Every word in place, even when each pair of the phrase is in the practice: this one
    // says "without the question" and, elsewhere, "the teacher".
    let notice = "notice-and-wonder-problem-launch".to_string();
    assert!(slugs(&api(&app, &q("\"without the question\"")).await).contains(&notice));
    assert_eq!(api(&app, &q("\"without the teacher\"")).await["total"], 0);
    // Stop words alone are left out, with a notice.
    let v = api(&app, &q("\"of the\" talk -the")).await;
    assert_eq!(v["total"], api(&app, &q("talk")).await["total"]);
    assert_eq!(
        v["notice"],
        "left out, as words in nearly every practice: \"of the\", -the"
    );

    let with = slugs(&api(&app, &q("talk")).await);
    let without = slugs(&api(&app, &q("talk -math")).await);
    assert!(with.contains(&"number-talks-sentence-frames".to_string()));
    assert!(!without.contains(&"number-talks-sentence-frames".to_string()));
    assert!(without.contains(&"turn-and-talk-with-talk-moves".to_string()));
    // Only exclusions: everything but.
    let v = api(&app, &q("-math")).await;
    assert!(
        v["total"].as_u64().unwrap() > 0
            && !slugs(&v).contains(&"number-talks-sentence-frames".to_string())
    );
}

fn facet_counts(v: &Value, facet: &str) -> BTreeMap<String, u64> {
    v["facets"][facet]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn facet_counts_match_the_catalog() {
    let app = TestApp::seeded().await;
    let practices = vetted();
    let v = api(&app, "per_page=100").await;
    assert_eq!(v["total"], practices.len());
    let mut grades: BTreeMap<String, u64> = BTreeMap::new();
    let mut areas: BTreeMap<String, u64> = BTreeMap::new();
    for p in &practices {
        for g in &p.grade_bands {
            *grades.entry(g.as_str().to_string()).or_default() += 1;
        }
        for a in &p.challenge_areas {
            *areas.entry(a.to_string()).or_default() += 1;
        }
    }
    assert_eq!(facet_counts(&v, "grade"), grades);
    assert_eq!(facet_counts(&v, "challenge"), areas);
    let labels: Vec<&str> = v["facets"]["grade"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"3–5"), "{labels:?}");
}

#[tokio::test]
async fn filters_combine_or_within_and_across_facets() {
    let app = TestApp::seeded().await;
    let practices = vetted();
    let count =
        |pred: &dyn Fn(&PracticeDoc) -> bool| practices.iter().filter(|p| pred(p)).count() as u64;
    let has_grade = |p: &PracticeDoc, g: &str| p.grade_bands.iter().any(|x| x.as_str() == g);
    let has_subject = |p: &PracticeDoc, s: &str| p.subjects.iter().any(|x| x.as_str() == s);

    let v = api(&app, "grade=6-8&grade=9-12").await;
    assert_eq!(
        v["total"],
        count(&|p| has_grade(p, "6-8") || has_grade(p, "9-12"))
    );
    let v = api(&app, "grade=6-8&subject=math").await;
    assert_eq!(
        v["total"],
        count(&|p| has_grade(p, "6-8") && has_subject(p, "math"))
    );
    // The selected facet still counts its other values (so a second grade can be added) ...
    let grades = facet_counts(&v, "grade");
    assert_eq!(
        grades.get("3-5").copied(),
        Some(count(&|p| has_grade(p, "3-5") && has_subject(p, "math")))
    );
    // ... while other facets count within the selection.
    let subjects = facet_counts(&v, "subject");
    assert_eq!(
        subjects.get("math").copied(),
        Some(v["total"].as_u64().unwrap())
    );
    // Text and filters together.
    let v = api(&app, &format!("{}&district=pine-valley-sd", q("reading"))).await;
    assert!(
        slugs(&v).iter().all(|s| [
            "cross-age-reading-buddies",
            "bus-route-attendance-buddies",
            "claim-evidence-reasoning-lab-talk",
            "writing-conferences-with-one-next-step"
        ]
        .contains(&s.as_str())),
        "{v}"
    );
    assert!(slugs(&v).contains(&"cross-age-reading-buddies".to_string()));
    // Schools like mine: level and locale.
    let v = api(&app, "level=high&locale=rural").await;
    let mut found = slugs(&v);
    found.sort();
    assert_eq!(
        found,
        vec![
            "claim-evidence-reasoning-lab-talk",
            "ninth-grade-success-advisory",
            "writing-conferences-with-one-next-step"
        ]
    );
}

#[tokio::test]
async fn sort_orders_and_stable_paging() {
    let app = TestApp::seeded().await;
    let mut practices = vetted();
    practices.sort_by_key(|p| std::cmp::Reverse(p.vetted_on));
    let browsed = api(&app, "sort=newest&per_page=100").await;
    let newest = slugs(&browsed);
    // Browsing has no words to show in context: a hit's snippet is its summary.
    for hit in browsed["hits"].as_array().unwrap() {
        let (summary, snippet) = (
            hit["summary"].as_str().unwrap(),
            hit["snippet"].as_str().unwrap(),
        );
        if summary.chars().count() <= 220 {
            assert_eq!(snippet, brightspots::search::escape(summary));
        } else {
            assert!(
                snippet.ends_with('…') && !snippet.contains("<mark>"),
                "{hit}"
            );
        }
    }
    let vetted_on = |slug: &String| {
        practices
            .iter()
            .find(|p| p.slug.as_str() == slug)
            .unwrap()
            .vetted_on
    };
    assert_eq!(newest.len(), practices.len());
    assert!(
        newest
            .windows(2)
            .all(|w| vetted_on(&w[0]) >= vetted_on(&w[1])),
        "{newest:?}"
    );
    assert_eq!(newest[0], practices[0].slug.as_str());

    // Number talks has two adoptions counted (adopted + adapted); turn-and-talk and the
    // ninth-grade advisory one each, the newer vetted first.
    let adopted = slugs(&api(&app, "sort=adopted").await);
    assert_eq!(
        &adopted[..3],
        [
            "number-talks-sentence-frames",
            "ninth-grade-success-advisory",
            "turn-and-talk-with-talk-moves"
        ]
    );

    for sort in ["relevance", "newest", "adopted"] {
        let all = slugs(&api(&app, &format!("sort={sort}&per_page=100&{}", q("students"))).await);
        let mut paged = Vec::new();
        for page in 1..=all.len().div_ceil(4) {
            paged.extend(slugs(
                &api(
                    &app,
                    &format!("sort={sort}&per_page=4&page={page}&{}", q("students")),
                )
                .await,
            ));
        }
        assert_eq!(
            paged, all,
            "{sort}: pages concatenate to the full list, no repeats"
        );
    }
}

#[tokio::test]
async fn api_shape_and_bad_parameters() {
    let app = TestApp::seeded().await;
    let v = api(&app, &format!("{}&per_page=2", q("number talks"))).await;
    let hit = &v["hits"][0];
    for key in [
        "slug",
        "title",
        "summary",
        "snippet",
        "challenge_areas",
        "grade_bands",
        "subjects",
        "stage",
        "team",
        "school",
        "district",
        "published_on",
        "adoption_count",
        "score",
    ] {
        assert!(hit.get(key).is_some(), "hit lacks {key}: {hit}");
    }
    assert_eq!(v["page"], 1);
    assert_eq!(v["per_page"], 2);
    assert_eq!(hit["challenge_areas"][0], "academic-discourse");
    assert_eq!(hit["district"]["name"], "Harbor Unified School District");

    // What names nothing that exists is 404, like its page; what cannot be used is 400.
    for (query, parameter, status) in [
        ("grade=13", "grade", StatusCode::BAD_REQUEST),
        ("challenge=nope", "challenge", StatusCode::NOT_FOUND),
        ("district=nope", "district", StatusCode::NOT_FOUND),
        ("per_page=500", "per_page", StatusCode::BAD_REQUEST),
        ("per_page=0", "per_page", StatusCode::BAD_REQUEST),
        ("page=abc", "page", StatusCode::BAD_REQUEST),
        ("page=0", "page", StatusCode::BAD_REQUEST),
        ("sort=random", "sort", StatusCode::BAD_REQUEST),
        ("page=99", "page", StatusCode::NOT_FOUND),
    ] {
        let (actual, body) = app.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(actual, status, "{query}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["parameter"], parameter, "{query}: {v}");
        assert!(v["error"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn hostile_queries_never_break_the_page() {
    let app = TestApp::seeded().await;
    let long = "attendance ".repeat(1000);
    for query in [
        "\"unbalanced",
        "-",
        "- - -",
        "AND OR NOT",
        "(( [[ {{ ~~ ^^ :: \\",
        "\u{0}\u{1}\u{7f}control",
        "🎉📚 emoji",
        "' OR 1=1; DROP TABLE practices; --",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        long.as_str(),
    ] {
        let (status, html) = app.get(&format!("/search?{}", q(query))).await;
        assert_eq!(status, StatusCode::OK, "{query:?}");
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x"),
            "unescaped: {query:?}"
        );
        let (status, _) = app.get(&format!("/api/v1/search?{}", q(query))).await;
        assert_eq!(status, StatusCode::OK, "{query:?}");
    }
    let (_, html) = app.get(&format!("/search?{}", q(&long))).await;
    assert!(
        html.contains("only its first 200 characters were used"),
        "truncation notice"
    );
    let v = api(&app, &q(&long)).await;
    assert!(v["notice"].as_str().unwrap().contains("200"));
    assert!(v["total"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_results_page_keeps_the_query_and_explains_bad_filters() {
    let app = TestApp::seeded().await;
    let html = app
        .page(&format!("/search?{}&grade=3-5&grade=42&page=7", q("talk")))
        .await;
    assert!(
        html.contains(r#"<input id="q" name="q" type="search" value="talk""#),
        "query kept"
    );
    assert!(html.contains(r#"value="3-5" checked"#), "selection kept");
    assert!(
        html.contains(
            "grade: &#34;42&#34; is not a valid grade band value; valid values are PK, K-2"
        ),
        "unknown value explained: {html}"
    );
    assert!(
        html.contains("Page 7 is past the end of these results"),
        "page explained"
    );
    assert!(html.contains("<mark>"), "snippets highlight");
    assert!(
        html.contains("<label for=\"f-grade-3-5\">3–5 <span class=\"count\">("),
        "facet counts shown"
    );
    let html = app.page(&format!("/search?{}", q("\"in the\""))).await;
    assert!(
        html.contains("Left out of your search: &#34;in the&#34;."),
        "stop words alone explained: {html}"
    );
}

#[tokio::test]
async fn no_results_helps() {
    let app = TestApp::seeded().await;
    let html = app
        .page(&format!(
            "/search?{}&grade=PK",
            q("ninth graders attendance")
        ))
        .await;
    assert!(html.contains("No practices found"));
    assert!(html.contains("Without the filters,"), "{html}");
    assert!(
        html.contains("href=\"/challenges/academic-discourse\""),
        "areas to browse"
    );
    let html = app.page(&format!("/search?{}", q("attendanse"))).await;
    assert!(
        html.contains("Did you mean <a href=\"/search?q=attendance\">attendance</a>?"),
        "{html}"
    );
}

#[tokio::test]
async fn nothing_unvetted_leaks() {
    let app = TestApp::seeded().await;
    // `peer-learning-walks` is submitted, not vetted; "Halvorsen" appears only in it.
    for query in [
        "peer learning walks",
        "halvorsen",
        "halvorsn",
        "instructional rounds",
    ] {
        let v = api(&app, &format!("{}&per_page=100", q(query))).await;
        assert!(
            !slugs(&v).contains(&"peer-learning-walks".to_string()),
            "{query}"
        );
        assert!(
            !v["hits"].to_string().to_lowercase().contains("halvorsen"),
            "{query}: {v}"
        );
        assert!(
            !v["suggestion"]
                .to_string()
                .to_lowercase()
                .contains("halvorsen"),
            "{query}: {v}"
        );
    }
    let v = api(&app, "per_page=100").await;
    assert!(!facet_counts(&v, "challenge").contains_key("teacher-collaboration"));
    for p in vetted() {
        let html = app.page(&format!("/practices/{}", p.slug)).await;
        assert!(
            !html.contains("/practices/peer-learning-walks"),
            "related of {}",
            p.slug
        );
    }
}

#[tokio::test]
async fn practice_pages_list_related_practices() {
    let app = TestApp::seeded().await;
    let html = app.page("/practices/attendance-welcome-calls").await;
    let related = &html[html.find("id=\"s-related\"").expect("related section")..];
    let related = &related[..related.find("</section>").unwrap()];
    let links: BTreeSet<&str> = related.matches("href=\"/practices/").collect();
    assert!(!links.is_empty());
    assert!(related.matches("<li>").count() <= 5);
    assert!(
        !related.contains("/practices/attendance-welcome-calls\""),
        "not itself"
    );
    assert!(
        related.contains("/practices/ninth-grade-success-advisory\"")
            || related.contains("/practices/bus-route-attendance-buddies\""),
        "{related}"
    );
}

#[tokio::test]
async fn searches_are_logged_without_identity() {
    let app = TestApp::seeded().await;
    api(&app, &q("  Chronic   ABSENCE ")).await;
    api(&app, &format!("{}&grade=PK", q("zzzqqq nothing"))).await;
    // The same search again is answered from the result cache, and still counts.
    api(&app, &q("chronic absence")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let rows: Vec<(String, String, i64)> = loop {
        let rows = sql::query_as("select query, filters, results from search_log order by id")
            .fetch_all(app.state.db.reader())
            .await
            .unwrap();
        if rows.len() >= 3 || std::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(rows[0].0, "chronic absence");
    assert!(rows[0].2 > 0);
    assert_eq!(
        rows[1],
        (
            "zzzqqq nothing".to_string(),
            r#"{"grade":["PK"]}"#.to_string(),
            0
        )
    );
    assert_eq!(
        (rows[2].0.as_str(), rows[2].2),
        ("chronic absence", rows[0].2)
    );
    let columns: Vec<String> =
        sql::query_scalar(match app.state.db.dialect() {
            Dialect::Sqlite => "select name from pragma_table_info('search_log') order by cid",
            Dialect::Postgres => {
                "select column_name::text from information_schema.columns where table_name = 'search_log' order by ordinal_position"
            }
        })
            .fetch_all(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(
        columns,
        ["id", "query", "filters", "results", "took_ms", "at"],
        "no identity is stored"
    );
    let zero = app
        .state
        .db
        .zero_result_searches("2000-01-01", "9999-12-31", 10)
        .await
        .unwrap();
    assert_eq!(zero, vec![("zzzqqq nothing".to_string(), 1)]);
}

/// Renames the team of `attendance-welcome-calls` in a transaction left open.
async fn rename(app: &TestApp, name: &str) -> brightspots::store::Conn {
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        "update teams set name = $1 where id = (select team_id from practices where slug = 'attendance-welcome-calls')",
    )
    .bind(name)
    .execute(&mut tx)
    .await
    .unwrap();
    tx
}

/// The rows of hits are kept until the index has seen a change: a second search reads none,
/// and the first search after a write reads them again.
#[tokio::test]
async fn hit_rows_are_kept_until_the_catalog_changes() {
    let app = TestApp::seeded().await;
    let team = |v: &Value| {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["slug"] == "attendance-welcome-calls")
            .map(|h| h["team"]["name"].as_str().unwrap().to_string())
            .expect("the practice is a hit")
    };
    let query = format!("{}&per_page=100", q("attendance"));
    let before = team(&api(&app, &query).await);

    // Renamed behind the hub's back: no change is recorded, so the kept row still shows.
    rename(&app, "Renamed quietly")
        .await
        .commit()
        .await
        .unwrap();
    assert_eq!(team(&api(&app, &query).await), before);

    // The same rename recorded as a change to the practice: once the index has seen it,
    // searches read the row again.
    let mut tx = rename(&app, "Renamed team").await;
    sql::query(
        "insert into changes (practice_id, kind) select id, 'practice' from practices where slug = 'attendance-welcome-calls'",
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.indexed().await;
    assert_eq!(team(&api(&app, &query).await), "Renamed team");
}
