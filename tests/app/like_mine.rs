//! "Schools like mine": the similarity ranking on a small known network, the reasons, what
//! never appears, profiles at /admin and in network.toml, and `sort=like-mine` on search.

use std::path::Path;

use axum::http::StatusCode;
use brightspots::content::{load_dir, write_dir};
use brightspots::store::{export_catalog, import_catalog, import_dir};

use crate::helpers::{Browser, TestApp, seed_dir};

/// The schools of the known network: (slug, level, locale, profile lines).
const SCHOOLS: &[(&str, &str, &str, &str)] = &[
    // The school that asks.
    (
        "home-ms",
        "middle",
        "suburban",
        "nces_locale = \"suburb-large\"\nenrolment = \"600-999\"\neconomically_disadvantaged = \"20-40\"\nenglish_learners = \"40-60\"\nstudents_with_disabilities = \"0-20\"\n",
    ),
    // Alike in everything: 14 points.
    (
        "twin-ms",
        "middle",
        "suburban",
        "nces_locale = 21\nenrolment = \"600-999\"\neconomically_disadvantaged = \"20-40\"\nenglish_learners = \"40-60\"\nstudents_with_disabilities = \"0-20\"\n",
    ),
    // Level 3 + locale 2 + English learners 2 = 7 points each.
    (
        "near-ms",
        "middle",
        "suburban",
        "nces_locale = \"suburb-small\"\nenglish_learners = \"40-60\"\n",
    ),
    (
        "near-two-ms",
        "middle",
        "suburban",
        "nces_locale = \"suburb-small\"\nenglish_learners = \"40-60\"\n",
    ),
    // No profile: overlapping grades, 1 point.
    ("town-k8", "k-8", "town", ""),
    // Nothing alike: 0 points.
    ("far-hs", "high", "rural", "english_learners = \"0-20\"\n"),
    // Where the practices come from.
    ("origin-es", "elementary", "urban", ""),
];

/// (practice, team that shared it, status) of the known network.
const PRACTICES: &[(&str, &str, &str)] = &[
    ("p-twin", "origin-es-step", "vetted"),
    ("p-near-two", "origin-es-step", "vetted"),
    ("p-near-one", "origin-es-step", "vetted"),
    ("p-far", "origin-es-step", "vetted"),
    ("p-at-home", "origin-es-step", "vetted"),
    ("p-partial", "origin-es-step", "vetted"),
    ("p-no-change", "origin-es-step", "vetted"),
    ("p-draft", "origin-es-step", "draft"),
    ("p-returned", "origin-es-step", "returned"),
    ("p-archived", "origin-es-step", "archived"),
    ("p-home-own", "home-ms-step", "vetted"),
    ("p-never-adopted", "origin-es-step", "vetted"),
];

/// (practice, adopting school, aspects kept, outcome).
const ADOPTIONS: &[(&str, &str, &str, &str)] = &[
    ("p-twin", "twin-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-near-two", "near-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-near-two", "near-two-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-near-one", "near-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-far", "far-hs", "[1, 2, 3, 4, 5]", "improved"),
    ("p-at-home", "home-ms", "[1, 2, 3, 4, 5]", "improved"),
    // Did not work: an aspect left out, or no change.
    ("p-partial", "twin-ms", "[1, 2, 3, 4]", "improved"),
    ("p-no-change", "twin-ms", "[1, 2, 3, 4, 5]", "no-change"),
    // Worked, but the practice is not public.
    ("p-draft", "twin-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-returned", "twin-ms", "[1, 2, 3, 4, 5]", "improved"),
    ("p-archived", "twin-ms", "[1, 2, 3, 4, 5]", "improved"),
    // Worked, but it is the asking school's own practice.
    ("p-home-own", "twin-ms", "[1, 2, 3, 4, 5]", "improved"),
];

/// The order the documented score gives for home-ms: 14 points; 7 points at two schools;
/// 7 points at one; 0 points; only at home-ms itself.
const EXPECTED: [&str; 5] = ["p-twin", "p-near-two", "p-near-one", "p-far", "p-at-home"];

fn title(slug: &str) -> String {
    format!("Practice {}", slug.trim_start_matches("p-"))
}

/// Writes the known network as a catalog directory.
fn write_network(dir: &Path) {
    std::fs::create_dir_all(dir.join("practices")).unwrap();
    std::fs::copy(
        seed_dir().join("challenge-areas.toml"),
        dir.join("challenge-areas.toml"),
    )
    .unwrap();
    let mut net = String::from("[[district]]\nslug = \"d\"\nname = \"Known District\"\n");
    for (slug, level, locale, profile) in SCHOOLS {
        net.push_str(&format!(
            "\n[[school]]\nslug = \"{slug}\"\nname = \"School {slug}\"\ndistrict = \"d\"\nlevel = \"{level}\"\nlocale = \"{locale}\"\n{profile}"
        ));
    }
    for (slug, ..) in SCHOOLS {
        net.push_str(&format!(
            "\n[[team]]\nslug = \"{slug}-step\"\nname = \"Team {slug}\"\nschool = \"{slug}\"\ncycle = \"2025-26\"\nchallenge_area = \"academic-discourse\"\naim = \"An aim.\"\n"
        ));
    }
    std::fs::write(dir.join("network.toml"), net).unwrap();
    let template =
        std::fs::read_to_string(seed_dir().join("practices/number-talks-sentence-frames.md"))
            .unwrap();
    for (slug, team, status) in PRACTICES {
        let mut text = template
            .replacen(
                "title = \"Number talks with sentence frames\"",
                &format!("title = \"{}\"", title(slug)),
                1,
            )
            .replacen(
                "team = \"lincoln-es-step\"",
                &format!("team = \"{team}\""),
                1,
            )
            .replacen("status = \"vetted\"", &format!("status = \"{status}\""), 1);
        if matches!(*status, "draft" | "returned") {
            text = text
                .replacen("published_on = 2025-05-30\n", "", 1)
                .replacen("vetted_on = 2025-06-12\n", "", 1);
        }
        std::fs::write(dir.join(format!("practices/{slug}.md")), text).unwrap();
    }
    let mut adoptions = String::new();
    for (practice, school, kept, outcome) in ADOPTIONS {
        adoptions.push_str(&format!(
            "[[adoption]]\npractice = \"{practice}\"\nteam = \"{school}-step\"\nstatus = \"adopted\"\naspects_kept = {kept}\noutcome = \"{outcome}\"\n\n[[adoption.measures]]\nname = \"Adopter tally {practice} {school}\"\ningredient = \"student-outcome\"\ninstrument = \"Observer tally\"\nunit = \"percent\"\nbaseline = 27\nresult = 58\nn = 12\nperiod = \"2025-10 to 2026-02\"\n\n"
        ));
    }
    std::fs::write(dir.join("adoptions.toml"), adoptions).unwrap();
}

/// The app with the known network imported and indexed.
async fn known_network() -> (TestApp, tempfile::TempDir) {
    let app = TestApp::empty().await;
    let dir = tempfile::tempdir().unwrap();
    write_network(dir.path());
    let catalog = load_dir(dir.path(), app.state.settings.min_cell()).unwrap();
    import_catalog(&app.state.db, &catalog).await.unwrap();
    app.indexed().await;
    (app, dir)
}

/// The practice slugs of a page's cards, in order.
fn card_slugs(page: &str) -> Vec<String> {
    page.split("<li class=\"card\">")
        .skip(1)
        .filter_map(|card| {
            let at = card.find("href=\"/practices/")? + "href=\"/practices/".len();
            Some(card[at..at + card[at..].find('"')?].to_string())
        })
        .collect()
}

#[tokio::test]
async fn like_mine_ranks_by_the_documented_score_with_reasons_in_plain_words() {
    let (app, _dir) = known_network().await;
    let page = app.page("/like-mine?school=home-ms").await;
    assert_eq!(card_slugs(&page), EXPECTED, "{page}");
    for reason in [
        "Improved at 1 school like yours: a suburban middle school, in a large suburb, 600–999 students, 20–40 % economically disadvantaged, 40–60 % English learners, 0–20 % students with disabilities.",
        "Improved at 2 schools like yours: suburban middle schools, 40–60 % English learners.",
        "Improved at 1 school like yours: a suburban middle school, 40–60 % English learners.",
        "Improved at 1 school, none much like yours.",
        "Improved at your school; no other school has reported it yet.",
    ] {
        assert!(page.contains(reason), "{reason}\n{page}");
    }
    // The school's own profile is what it is compared on.
    assert!(page.contains("Compared on: Middle school, suburban (large suburb), 600–999 students"));
    assert!(!page.contains("has no profile yet"));

    // A school without a profile is less comparable, and the page says so.
    let page = app.page("/like-mine?school=town-k8").await;
    assert!(page.contains("has no profile yet"), "{page}");
    // For it, p-home-own (home-ms's practice) worked at twin-ms too: it is not excluded.
    assert!(card_slugs(&page).contains(&"p-home-own".to_string()));

    // The form lists every school, by district, with its level and locale.
    assert!(page.contains("<optgroup label=\"Known District\">"));
    assert!(page.contains("School twin-ms (Middle, suburban)"));

    // A school's page shows its profile and links its ranking.
    let page = app.page("/schools/home-ms").await;
    assert!(
        page.contains("<dt>English learners</dt><dd>40–60 % of students</dd>"),
        "{page}"
    );
    assert!(page.contains("href=\"/like-mine?school=home-ms\""));

    // No school chosen and nobody signed in: the form only.
    let page = app.page("/like-mine").await;
    assert!(card_slugs(&page).is_empty());
    // An unknown school is a clear 404, not a failure.
    let (status, body) = app.get("/like-mine?school=no-such-school").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("There is no school"), "{body}");
}

#[tokio::test]
async fn nothing_that_did_not_work_nothing_non_public_and_no_figures_appear() {
    let (app, _dir) = known_network().await;
    for school in ["home-ms", "town-k8", "far-hs", "origin-es", "twin-ms"] {
        let page = app.page(&format!("/like-mine?school={school}")).await;
        let slugs = card_slugs(&page);
        for absent in [
            "p-partial",
            "p-no-change",
            "p-draft",
            "p-returned",
            "p-archived",
            "p-never-adopted",
        ] {
            assert!(
                !slugs.contains(&absent.to_string()),
                "{absent} for {school}"
            );
            assert!(!page.contains(&title(absent)), "{absent} for {school}");
        }
        // No measure reaches the page: no adopter's figures, no n of any size.
        assert!(!page.contains("Adopter tally"), "{page}");
        assert!(!page.contains("n = ") && !page.contains("58%"), "{page}");
    }
    // Its own practice is not offered to the school that shared it (its teams cannot adopt it).
    let page = app.page("/like-mine?school=home-ms").await;
    assert!(!card_slugs(&page).contains(&"p-home-own".to_string()));
    // Nor through search's order.
    let (_, body) = app
        .get("/api/v1/search?sort=like-mine&school=home-ms&per_page=100")
        .await;
    for absent in ["p-draft", "p-returned", "p-archived"] {
        assert!(!body.contains(absent), "{absent}: {body}");
    }
}

#[tokio::test]
async fn the_signed_in_teachers_school_is_the_default() {
    let (app, _dir) = known_network().await;
    let mut teacher = Browser::local(&app, "Tess Teacher", "member", "home-ms-step").await;
    let page = teacher.get("/like-mine").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("This is your team's school"),
        "{}",
        page.body
    );
    assert_eq!(card_slugs(&page.body), EXPECTED);
    assert!(page.body.contains("<option value=\"home-ms\" selected>"));
    // The navigation links the page.
    assert!(
        page.body
            .contains("<a href=\"/like-mine\">Schools like mine</a>")
    );
}

#[tokio::test]
async fn search_sorts_by_like_mine_and_refuses_unknown_schools() {
    let (app, _dir) = known_network().await;
    let (status, body) = app
        .get("/api/v1/search?sort=like-mine&school=home-ms&per_page=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let slugs: Vec<&str> = json["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs[..5], EXPECTED, "{slugs:?}");
    // Public practices that worked nowhere like it follow, by relevance.
    assert!(slugs.contains(&"p-never-adopted"));
    assert!(slugs.contains(&"p-home-own"));

    // Words narrow the results as ever; the order stays.
    let (_, body) = app
        .get("/api/v1/search?q=number+talk&sort=like-mine&school=home-ms")
        .await;
    assert!(body.find("p-twin").unwrap() < body.find("p-far").unwrap());

    let (status, body) = app
        .get("/api/v1/search?sort=like-mine&school=no-such-school")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("\"parameter\":\"school\""), "{body}");
    let (status, body) = app.get("/api/v1/search?sort=like-mine").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("\"parameter\":\"school\""), "{body}");

    // The document describes the order and its school.
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let params = doc["paths"]["/api/v1/search"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(params.iter().any(|p| p["name"] == "school"));
    assert!(doc.to_string().contains("\"like-mine\""));

    // The page: the same order, the school kept in its links and form.
    let page = app.page("/search?sort=like-mine&school=home-ms").await;
    let shown = card_slugs(&page);
    assert_eq!(shown[..5], EXPECTED);
    assert!(page.contains(
        "<input type=\"hidden\" form=\"search-form\" name=\"school\" value=\"home-ms\">"
    ));
    assert!(page.contains("<option value=\"like-mine\" selected>"));
    // An unknown school on the page is a notice, and the results come by relevance.
    let page = app.page("/search?sort=like-mine&school=nowhere").await;
    assert!(page.contains("is not a school of the network"), "{page}");
    // The feed of such a search answers too.
    let (status, _) = app.get("/search.atom?sort=like-mine&school=home-ms").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn administrators_edit_profiles_with_csrf_and_bad_input_is_kept() {
    let (app, _dir) = known_network().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "origin-es-step").await;
    let page = admin.get("/admin").await.body;
    assert!(page.contains("id=\"profile-town-k8\""), "{page}");
    crate::accessibility::check_page("/admin", &page);

    // Without the CSRF token nothing changes.
    let before = app
        .state
        .db
        .profiled_school("town-k8")
        .await
        .unwrap()
        .unwrap();
    let r = admin
        .post(
            "/admin/schools/town-k8/profile",
            &[("english_learners", "40-60")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        app.state
            .db
            .profiled_school("town-k8")
            .await
            .unwrap()
            .unwrap()
            .traits,
        before.traits
    );

    // A band that is not one, and an NCES locale outside the school's locale: the form
    // comes back with both problems and everything sent.
    let r = admin
        .submit(
            "/admin/schools/town-k8/profile",
            &[
                ("english_learners", "45-55"),
                ("enrolment", "300-599"),
                ("nces_locale", "rural-remote"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Not saved"), "{}", r.body);
    crate::accessibility::check_page("/admin/schools/town-k8/profile", &r.body);
    assert!(
        r.body
            .contains("<option value=\"45-55\" selected>45-55 (not valid)</option>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("&#34;45-55&#34; is not one of &#34;0-20&#34;"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<option value=\"300-599\" selected>"));
    assert!(r.body.contains("<option value=\"rural-remote\" selected>"));
    assert!(
        r.body.contains("the school&#39;s locale is &#34;town&#34;"),
        "{}",
        r.body
    );
    assert_eq!(
        app.state
            .db
            .profiled_school("town-k8")
            .await
            .unwrap()
            .unwrap()
            .traits,
        before.traits
    );

    // A good profile is saved, through the change feed (other instances' caches move on).
    let head = app.state.db.feed_head().await.unwrap();
    let r = admin
        .submit(
            "/admin/schools/town-k8/profile",
            &[
                ("english_learners", "40-60"),
                ("enrolment", "300-599"),
                ("nces_locale", "32"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.state.db.feed_head().await.unwrap() > head);
    let other = app.second_instance().await;
    let page = other.page("/like-mine?school=town-k8").await;
    assert!(
        page.contains("Compared on: K–8 school, town (distant town), 300–599 students, 40–60 % English learners"),
        "{page}"
    );
    assert!(!page.contains("has no profile yet"));

    // Only administrators edit profiles.
    let mut member = Browser::local(&app, "Max Member", "member", "home-ms-step").await;
    let r = member
        .submit(
            "/admin/schools/town-k8/profile",
            &[("english_learners", "0-20")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn profiles_round_trip_through_network_toml() {
    let (app, dir) = known_network().await;
    let min = app.state.settings.min_cell();
    let exported = export_catalog(&app.state.db).await.unwrap();
    let loaded = load_dir(dir.path(), min).unwrap();
    assert_eq!(exported.schools, loaded.schools);
    // The NCES code is read as its spelling, and written so.
    let out = tempfile::tempdir().unwrap();
    write_dir(out.path(), &exported).unwrap();
    let text = std::fs::read_to_string(out.path().join("network.toml")).unwrap();
    assert!(text.contains(
        "slug = \"twin-ms\"\nname = \"School twin-ms\"\ndistrict = \"d\"\nlevel = \"middle\"\nlocale = \"suburban\"\nnces_locale = \"suburb-large\"\nenrolment = \"600-999\"\n"
    ));
    // Importing the export changes nothing in the network, and exports the same bytes.
    let network_changes = async || -> i64 {
        brightspots::store::sql::query_scalar("select count(*) from changes where kind = 'network'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap()
    };
    let before = network_changes().await;
    import_catalog(&app.state.db, &load_dir(out.path(), min).unwrap())
        .await
        .unwrap();
    assert_eq!(network_changes().await, before, "no network change");
    let again = tempfile::tempdir().unwrap();
    write_dir(again.path(), &export_catalog(&app.state.db).await.unwrap()).unwrap();
    assert_eq!(
        std::fs::read_to_string(again.path().join("network.toml")).unwrap(),
        text
    );
    // A changed profile is imported as a change.
    std::fs::write(
        out.path().join("network.toml"),
        text.replacen(
            "english_learners = \"0-20\"",
            "english_learners = \"20-40\"",
            1,
        ),
    )
    .unwrap();
    import_catalog(&app.state.db, &load_dir(out.path(), min).unwrap())
        .await
        .unwrap();
    assert!(network_changes().await > before);
    let far = app
        .state
        .db
        .profiled_school("far-hs")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        far.traits.profile.english_learners,
        Some(brightspots::domain::ShareBand::To40)
    );
}

#[tokio::test]
async fn an_invalid_profile_in_network_toml_names_file_line_and_field_and_imports_nothing() {
    let app = TestApp::empty().await;
    let dir = tempfile::tempdir().unwrap();
    write_network(dir.path());
    let path = dir.path().join("network.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen(
            "english_learners = \"0-20\"",
            "english_learners = \"5 %\"",
            1,
        )
        .replacen(
            "nces_locale = \"suburb-small\"",
            "nces_locale = \"rural-remote\"",
            1,
        )
        .replacen(
            "level = \"k-8\"\nlocale = \"town\"\n",
            "level = \"k-8\"\nlocale = \"town\"\nenrolment = 250\nnces_locale = 3.2\n",
            1,
        );
    std::fs::write(&path, &text).unwrap();
    let line_of = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let errors = load_dir(dir.path(), app.state.settings.min_cell()).unwrap_err();
    // `enrolment = 250` is not text: the file does not parse, and says where.
    assert!(
        errors.iter().any(|e| e.file.ends_with("network.toml")
            && e.line == Some(line_of("enrolment = 250"))),
        "{errors:?}"
    );
    // A number that is no NCES code's shape says what would be.
    std::fs::write(
        &path,
        text.replacen(
            "enrolment = 250\nnces_locale = 3.2\n",
            "nces_locale = 3.2\n",
            1,
        ),
    )
    .unwrap();
    let errors = load_dir(dir.path(), app.state.settings.min_cell()).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("an NCES locale, as its name")),
        "{errors:?}"
    );
    std::fs::write(
        &path,
        text.replacen("enrolment = 250\nnces_locale = 3.2\n", "", 1),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let errors = load_dir(dir.path(), app.state.settings.min_cell()).unwrap_err();
    let found = |field: &str, needle: &str, says: &str| {
        assert!(
            errors.iter().any(|e| e.file.ends_with("network.toml")
                && e.field.as_deref() == Some(field)
                && e.line == Some(line_of_in(&text, needle))
                && e.message.contains(says)),
            "{field}: {errors:?}"
        );
    };
    found(
        "school[6].english_learners",
        "english_learners = \"5 %\"",
        "\"40-60\"",
    );
    found(
        "school[3].nces_locale",
        "nces_locale = \"rural-remote\"",
        "the school's locale is \"suburban\"",
    );
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
    assert!(result.is_err());
    assert!(app.state.db.is_empty().await.unwrap(), "nothing imported");
    assert!(app.state.db.profiled_schools().await.unwrap().is_empty());
}

fn line_of_in(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}
