//! The Atom feeds through the real router: every kind parses as Atom, strictly (a strict XML
//! 1.0 parser, RFC 4287's required elements, then a feed parser reads it as a feed reader
//! would); only public practices, their vetted revision, under ids that outlive a revision;
//! conditional GET; the pages link their feeds; unknown feeds and bad searches are refused.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use brightspots::store::sql;
use http_body_util::BodyExt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::ServiceExt;

use crate::helpers::{Browser, TestApp};
use crate::review::{field, send, share, vet};

const ATOM: &str = "http://www.w3.org/2005/Atom";

/// One entry as the feed gives it.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    title: String,
    link: String,
    updated: OffsetDateTime,
    published: Option<OffsetDateTime>,
    author: String,
    categories: Vec<String>,
    summary: String,
}

#[derive(Debug)]
struct Feed {
    id: String,
    title: String,
    updated: OffsetDateTime,
    self_link: String,
    alternate: String,
    entries: Vec<Entry>,
}

impl Feed {
    fn slugs(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|e| e.link.rsplit('/').next().unwrap())
            .collect()
    }

    fn entry(&self, slug: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.link.ends_with(&format!("/practices/{slug}")))
    }
}

/// The Atom elements `name` among `node`'s children.
fn children<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(|c| c.tag_name().namespace() == Some(ATOM) && c.tag_name().name() == name)
        .collect()
}

/// Reads an Atom document strictly: well-formed XML 1.0 with namespaces (roxmltree refuses
/// anything else), the elements RFC 4287 requires, exactly once where it says so, RFC 3339
/// dates; then a feed parser (feed-rs) must read the same entries.
fn read_atom(xml: &str) -> Result<Feed, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(ATOM) || root.tag_name().name() != "feed" {
        return Err(format!("the root is {:?}", root.tag_name()));
    }
    let one = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<String, String> {
        match children(node, name).as_slice() {
            [only] => Ok(only.text().unwrap_or("").to_string()),
            found => Err(format!(
                "<{}> needs exactly one <{name}>, has {}",
                node.tag_name().name(),
                found.len()
            )),
        }
    };
    let date = |text: String| -> Result<OffsetDateTime, String> {
        OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| format!("{text:?} is not RFC 3339: {e}"))
    };
    let iri = |text: String| -> Result<String, String> {
        url::Url::parse(&text).map_err(|e| format!("{text:?} is not an absolute IRI: {e}"))?;
        Ok(text)
    };
    let link = |node: roxmltree::Node<'_, '_>, rel: &str| -> Option<String> {
        children(node, "link")
            .into_iter()
            .find(|l| l.attribute("rel").unwrap_or("alternate") == rel)
            .and_then(|l| l.attribute("href").map(str::to_string))
    };
    let feed_authors = children(root, "author").len();
    let mut entries = Vec::new();
    for e in children(root, "entry") {
        let authors = children(e, "author");
        if authors.is_empty() && feed_authors == 0 {
            return Err("an entry without an author in a feed without one".into());
        }
        let author = authors
            .first()
            .map(|a| one(*a, "name"))
            .transpose()?
            .unwrap_or_default();
        if children(e, "content").is_empty() && link(e, "alternate").is_none() {
            return Err("an entry with neither content nor an alternate link".into());
        }
        let published = match children(e, "published").as_slice() {
            [] => None,
            [p] => Some(date(p.text().unwrap_or("").to_string())?),
            _ => return Err("two <published>".into()),
        };
        entries.push(Entry {
            id: iri(one(e, "id")?)?,
            title: one(e, "title")?,
            link: iri(link(e, "alternate").ok_or("an entry without a link")?)?,
            updated: date(one(e, "updated")?)?,
            published,
            author,
            categories: children(e, "category")
                .iter()
                .map(|c| c.attribute("term").map(str::to_string))
                .collect::<Option<_>>()
                .ok_or("a category without a term")?,
            summary: one(e, "summary")?,
        });
    }
    let feed = Feed {
        id: iri(one(root, "id")?)?,
        title: one(root, "title")?,
        updated: date(one(root, "updated")?)?,
        self_link: link(root, "self").ok_or("no self link")?,
        alternate: link(root, "alternate").ok_or("no alternate link")?,
        entries,
    };
    // A feed reader's reading: the same entries, ids, titles and dates.
    let parsed = feed_rs::parser::parse(xml.as_bytes()).map_err(|e| format!("feed-rs: {e}"))?;
    if parsed.feed_type != feed_rs::model::FeedType::Atom {
        return Err(format!("feed-rs read {:?}", parsed.feed_type));
    }
    if parsed.entries.len() != feed.entries.len() {
        return Err("feed-rs read another number of entries".into());
    }
    for (theirs, ours) in parsed.entries.iter().zip(&feed.entries) {
        let title = theirs.title.as_ref().map(|t| t.content.as_str());
        let updated = theirs.updated.map(|u| u.timestamp());
        if theirs.id != ours.id
            || title != Some(ours.title.as_str())
            || updated != Some(ours.updated.unix_timestamp())
            || theirs.authors.first().and_then(|a| a.name.as_deref()) != Some(ours.author.as_str())
        {
            return Err(format!("feed-rs read {theirs:?} for {ours:?}"));
        }
    }
    Ok(feed)
}

/// A GET with these request headers, once the index has applied every change (the feeds are
/// kept until it has), as a feed reader polling a moment later would send it.
async fn fetch(
    app: &TestApp,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, String) {
    app.indexed().await;
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = brightspots::app(app.state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// A feed that must answer 200 as Atom; read strictly.
async fn feed(app: &TestApp, path: &str) -> Feed {
    let (status, headers, body) = fetch(app, path, &[]).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8",
        "{path}"
    );
    read_atom(&body).unwrap_or_else(|e| panic!("{path}: {e}\n{body}"))
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

#[test]
fn the_reader_refuses_malformed_feeds() {
    let good = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>http://h/f</id><title>T</title>
<updated>2026-01-02T03:04:05Z</updated><link rel="self" href="http://h/f"/><link href="http://h/"/>
<entry><id>http://h/p/a</id><title>A</title><link href="http://h/p/a"/>
<updated>2026-01-02T03:04:05Z</updated><author><name>Team</name></author><summary>S</summary></entry>
</feed>"#;
    assert!(read_atom(good).is_ok(), "{:?}", read_atom(good));
    for (bad, why) in [
        (
            good.replace("<title>A</title>", "<title>A & B</title>"),
            "a bare &",
        ),
        (
            good.replace("<title>A</title>", "<title>A <b>B</title>"),
            "a bare <",
        ),
        (
            good.replace("<title>A</title>", "<title>A\u{1}</title>"),
            "a control character",
        ),
        (
            good.replace("<title>A</title>", "<title>A&nbsp;</title>"),
            "an HTML entity",
        ),
        (good.replace("</feed>", ""), "unclosed"),
        (
            good.replace(r#" xmlns="http://www.w3.org/2005/Atom""#, ""),
            "no namespace",
        ),
        (
            good.replace(
                "<updated>2026-01-02T03:04:05Z</updated><author>",
                "<author>",
            ),
            "no updated",
        ),
        (
            good.replace(
                "2026-01-02T03:04:05Z</updated><author>",
                "2026-01-02</updated><author>",
            ),
            "a date only",
        ),
        (good.replace("<id>http://h/p/a</id>", ""), "no id"),
        (
            good.replace("<author><name>Team</name></author>", ""),
            "no author",
        ),
    ] {
        assert!(read_atom(&bad).is_err(), "{why} was accepted");
    }
}

#[tokio::test]
async fn every_feed_is_atom_of_the_newest_vetted_practices() {
    let app = TestApp::seeded().await;
    let base = app.state.settings.public_url();

    let network = feed(&app, "/feed.atom").await;
    assert_eq!(network.title, "Bright Spots — Newly vetted practices");
    assert_eq!(network.id, format!("{base}/feed.atom"));
    assert_eq!(network.self_link, format!("{base}/feed.atom"));
    assert_eq!(network.alternate, format!("{base}/"));
    // The sixteen vetted seed practices, newest vetted first; the submitted one is not there.
    assert_eq!(network.entries.len(), 16, "{:?}", network.slugs());
    assert_eq!(
        network.slugs()[..2],
        ["two-by-ten-conversations", "ninth-grade-success-advisory"]
    );
    assert!(network.entry("peer-learning-walks").is_none());
    assert!(
        network
            .entries
            .windows(2)
            .all(|w| w[0].updated >= w[1].updated)
    );
    assert_eq!(network.updated, network.entries[0].updated);

    // An entry: its address as id and link, the vetting day as updated, the team as author,
    // the challenge areas as categories, the summary as text.
    let e = network.entry("number-talks-sentence-frames").unwrap();
    assert_eq!(
        e.id,
        format!("{base}/practices/number-talks-sentence-frames")
    );
    assert_eq!(e.link, e.id);
    assert_eq!(e.title, "Number talks with sentence frames");
    assert_eq!(e.updated.format(&Rfc3339).unwrap(), "2025-06-12T00:00:00Z");
    assert_eq!(
        e.published.unwrap().format(&Rfc3339).unwrap(),
        "2025-05-30T00:00:00Z"
    );
    assert_eq!(e.author, "Lincoln Elementary STEP team");
    assert_eq!(e.categories, ["academic-discourse", "math-problem-solving"]);
    assert!(
        e.summary
            .starts_with("A ten-to-twelve-minute daily routine"),
        "{e:?}"
    );

    let area = feed(&app, "/challenges/chronic-absenteeism/feed.atom").await;
    assert_eq!(area.title, "Bright Spots — Chronic absenteeism");
    assert_eq!(
        area.alternate,
        format!("{base}/challenges/chronic-absenteeism")
    );
    for slug in [
        "attendance-welcome-calls",
        "ninth-grade-success-advisory",
        "two-by-ten-conversations",
        "bus-route-attendance-buddies",
    ] {
        assert!(area.entry(slug).is_some(), "{slug}: {:?}", area.slugs());
    }
    assert!(
        area.entries
            .iter()
            .all(|e| e.categories.iter().any(|c| c == "chronic-absenteeism"))
    );

    let team = feed(&app, "/teams/harbor-hs-step/feed.atom").await;
    assert!(team.entry("attendance-welcome-calls").is_some());
    assert!(
        team.entries
            .iter()
            .all(|e| e.author == "Harbor High School STEP team")
    );
    let school = feed(&app, "/schools/pine-valley-k8/feed.atom").await;
    assert!(school.entry("cross-age-reading-buddies").is_some());
    let district = feed(&app, "/districts/cedar-county-schools/feed.atom").await;
    assert!(!district.entries.is_empty());
    assert!(
        district.entry("number-talks-sentence-frames").is_none(),
        "another district's"
    );

    // A search: /search's parameters, newest vetted first unless it says otherwise.
    let found = feed(&app, "/search.atom?q=attendance&grade=9-12").await;
    assert!(!found.entries.is_empty());
    assert!(
        found
            .entries
            .windows(2)
            .all(|w| w[0].updated >= w[1].updated)
    );
    assert_eq!(
        found.title,
        "Bright Spots — Search: “attendance”, Grade band: 9–12"
    );
    assert_eq!(
        found.self_link,
        format!("{base}/search.atom?q=attendance&grade=9-12")
    );
    assert_eq!(
        found.alternate,
        format!("{base}/search?q=attendance&grade=9-12&sort=newest")
    );
    let (_, _, api) = fetch(
        &app,
        "/api/v1/search?q=attendance&grade=9-12&sort=newest",
        &[],
    )
    .await;
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let api_slugs: Vec<&str> = api["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap())
        .collect();
    assert_eq!(found.slugs(), api_slugs, "the search's own results");
    let two = feed(
        &app,
        "/search.atom?challenge=chronic-absenteeism&per_page=2&sort=relevance",
    )
    .await;
    assert_eq!(two.entries.len(), 2);
    assert!(
        two.self_link
            .ends_with("/search.atom?challenge=chronic-absenteeism&sort=relevance&per_page=2")
    );

    // An empty feed is still Atom: `updated` is required, so it is the epoch.
    let none = feed(&app, "/search.atom?q=zzzzqqq").await;
    assert!(none.entries.is_empty());
    assert_eq!(none.updated, OffsetDateTime::UNIX_EPOCH);
    let (_, headers, _) = fetch(&app, "/search.atom?q=zzzzqqq", &[]).await;
    assert!(headers.get(header::LAST_MODIFIED).is_none());
    assert!(headers.get(header::ETAG).is_some());
}

/// The slug of the practice whose newest revision has this title.
async fn slug_of(app: &TestApp, title: &str) -> String {
    sql::query_scalar(
        "select p.slug from practices p join practice_revisions r on r.id = p.current_revision_id where r.title = $1",
    )
    .bind(title)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap()
}

#[tokio::test]
async fn only_the_vetted_revision_of_a_public_practice_reaches_a_feed() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    // Markup and entities in a title are text, escaped in the feed.
    let title = "Restate & add <before> \"building\"";
    let r = send(
        &mut rosa,
        "/share",
        &share(title, "Talk rose from 41% to 78%.", &[("action", "submit")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let slug = slug_of(&app, title).await;
    let feeds = [
        "/feed.atom".to_string(),
        "/challenges/academic-discourse/feed.atom".to_string(),
        "/teams/bayview-ms-step/feed.atom".to_string(),
        "/schools/bayview-ms/feed.atom".to_string(),
        "/districts/harbor-usd/feed.atom".to_string(),
        "/search.atom?q=restate".to_string(),
    ];
    // Submitted, not vetted: in no feed.
    for path in &feeds {
        assert!(feed(&app, path).await.entry(&slug).is_none(), "{path}");
    }
    let (_, before, _) = fetch(&app, "/feed.atom", &[]).await;

    vet(&mut ada, &slug).await;
    let vetted = OffsetDateTime::now_utc();
    let mut id = String::new();
    for path in &feeds {
        let f = feed(&app, path).await;
        let e = f
            .entry(&slug)
            .unwrap_or_else(|| panic!("{path}: {:?}", f.slugs()));
        assert_eq!(e.title, title, "{path}");
        assert_eq!(e.author, "Bayview Middle School STEP team");
        // Vetted through the hub: the time of the coach's decision, to the second.
        assert!(
            (vetted - e.updated).whole_seconds().abs() < 120,
            "{path}: {:?}",
            e.updated
        );
        id = e.id.clone();
    }
    let (_, after, _) = fetch(&app, "/feed.atom", &[]).await;
    assert_ne!(after[header::ETAG], before[header::ETAG], "a new vetting");

    // The team revises and submits again: the feeds keep the vetted revision, and their
    // content, so their ETag, does not change.
    let edit = rosa.get(&format!("/practices/{slug}/edit")).await.body;
    let r = send(
        &mut rosa,
        &format!("/practices/{slug}/edit"),
        &share(
            "Restate, then build",
            "Talk rose from 41% to 78% in 6 classrooms.",
            &[("action", "submit"), ("base", &field(&edit, "base"))],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for path in &feeds {
        let e = feed(&app, path).await.entry(&slug).cloned().unwrap();
        assert_eq!(e.title, title, "{path}: the vetted revision");
    }
    let (_, waiting, _) = fetch(&app, "/feed.atom", &[]).await;
    assert_eq!(waiting[header::ETAG], after[header::ETAG]);

    // Vetted again: the new title, under the same id.
    vet(&mut ada, &slug).await;
    let network = feed(&app, "/feed.atom").await;
    let e = network.entry(&slug).unwrap();
    assert_eq!(e.title, "Restate, then build");
    assert_eq!(e.id, id, "an entry keeps its id through a revision");

    // Archived: out of every feed.
    let r = ada
        .submit(
            &format!("/review/{slug}/archive"),
            &[("comment", "Folded into another practice.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for path in &feeds {
        assert!(feed(&app, path).await.entry(&slug).is_none(), "{path}");
    }
}

#[tokio::test]
async fn conditional_get_answers_304_until_the_feed_changes() {
    let app = TestApp::seeded().await;
    for path in [
        "/feed.atom",
        "/teams/harbor-hs-step/feed.atom",
        "/search.atom?q=talk",
    ] {
        let (status, headers, body) = fetch(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let etag = header(&headers, header::ETAG).to_string();
        let modified = header(&headers, header::LAST_MODIFIED).to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(
            header(&headers, header::CACHE_CONTROL),
            "public, max-age=300"
        );
        // Last-Modified is the newest vetting the feed shows.
        let newest = read_atom(&body)
            .unwrap()
            .entries
            .iter()
            .map(|e| e.updated)
            .max()
            .unwrap();
        assert_eq!(
            httpdate::parse_http_date(&modified).unwrap(),
            std::time::SystemTime::from(newest)
        );

        let (status, h, body) = fetch(&app, path, &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body.is_empty());
        assert_eq!(header(&h, header::ETAG), etag);
        assert_eq!(header(&h, header::LAST_MODIFIED), modified);
        let listed = format!("\"other\", W/{etag}");
        let (status, _, _) = fetch(&app, path, &[(header::IF_NONE_MATCH, &listed)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        let (status, _, body) = fetch(&app, path, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(read_atom(&body).is_ok());

        let (status, _, _) = fetch(&app, path, &[(header::IF_MODIFIED_SINCE, &modified)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        let earlier = httpdate::fmt_http_date(
            httpdate::parse_http_date(&modified).unwrap() - std::time::Duration::from_secs(1),
        );
        let (status, _, _) = fetch(&app, path, &[(header::IF_MODIFIED_SINCE, &earlier)]).await;
        assert_eq!(status, StatusCode::OK);
        // A HEAD carries the same validators.
        let head = brightspots::app(app.state.clone())
            .oneshot(Request::head(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()[header::ETAG], etag.as_str());
    }

    // The ETag is a hash of what the feed shows: another hub instance on the same database
    // gives the same one.
    let (_, first, _) = fetch(&app, "/feed.atom", &[]).await;
    let etag = header(&first, header::ETAG).to_string();
    let modified = header(&first, header::LAST_MODIFIED).to_string();
    let other = app.second_instance().await;
    let (_, theirs, _) = fetch(&other, "/feed.atom", &[]).await;
    assert_eq!(header(&theirs, header::ETAG), etag);

    // A new vetting (through the other instance): the old copy is no longer current.
    let mut rosa = Browser::local(&other, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(&other, "Ada Coach", "coach", "").await;
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
    let slug = slug_of(&app, "Restate, then add").await;
    vet(&mut ada, &slug).await;
    let (status, now, body) = fetch(&app, "/feed.atom", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(header(&now, header::ETAG), etag);
    assert!(read_atom(&body).unwrap().entry(&slug).is_some());
    // Vetted today, after every seed practice: Last-Modified moves on too.
    let (status, _, _) = fetch(
        &app,
        "/feed.atom",
        &[(header::IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine, _) = fetch(&other, "/feed.atom", &[]).await;
    assert_eq!(header(&mine, header::ETAG), header(&now, header::ETAG));
}

/// The `<link rel="alternate">` of a page's head: (title, href).
fn alternate(html: &str) -> (String, String) {
    let doc = scraper::Html::parse_document(html);
    let selector =
        scraper::Selector::parse(r#"head link[rel="alternate"][type="application/atom+xml"]"#)
            .unwrap();
    let links: Vec<_> = doc.select(&selector).collect();
    assert_eq!(links.len(), 1, "{html}");
    let attr = |name| links[0].value().attr(name).unwrap().to_string();
    (attr("title"), attr("href"))
}

#[tokio::test]
async fn pages_link_their_feeds() {
    let app = TestApp::seeded().await;
    for (page, href) in [
        ("/", "/feed.atom"),
        (
            "/challenges/chronic-absenteeism",
            "/challenges/chronic-absenteeism/feed.atom",
        ),
        ("/teams/harbor-hs-step", "/teams/harbor-hs-step/feed.atom"),
        (
            "/schools/pine-valley-k8",
            "/schools/pine-valley-k8/feed.atom",
        ),
        (
            "/districts/cedar-county-schools",
            "/districts/cedar-county-schools/feed.atom",
        ),
        // The current search, without its page; in its order unless that is relevance.
        (
            "/search?q=attendance&grade=9-12&sort=relevance&page=2&per_page=2",
            "/search.atom?q=attendance&grade=9-12",
        ),
        (
            "/search?q=talk&sort=adopted",
            "/search.atom?q=talk&sort=adopted",
        ),
        ("/search", "/search.atom"),
    ] {
        let html = app.page(page).await;
        let (title, linked) = alternate(&html);
        assert_eq!(linked, href, "{page}");
        // The visible link too, saying what it is.
        let doc = scraper::Html::parse_document(&html);
        let visible = scraper::Selector::parse(r#"main a[type="application/atom+xml"]"#).unwrap();
        let visible: Vec<_> = doc.select(&visible).collect();
        assert_eq!(visible.len(), 1, "{page}");
        assert_eq!(visible[0].value().attr("href"), Some(linked.as_str()));
        let text: String = visible[0].text().collect();
        assert!(text.starts_with("Atom feed of new"), "{page}: {text}");
        // The link's title is the feed's own.
        let f = feed(&app, &linked).await;
        assert_eq!(f.title, title, "{page}");
    }
}

#[tokio::test]
async fn unknown_feeds_are_404_and_bad_searches_400_in_plain_text() {
    let app = TestApp::seeded().await;
    for path in [
        "/teams/no-such-team/feed.atom",
        "/schools/no-such-school/feed.atom",
        "/districts/no-such-district/feed.atom",
        "/challenges/no-such-area/feed.atom",
        "/practices/number-talks-sentence-frames/feed.atom",
    ] {
        let (status, headers, body) = fetch(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(body, "There is no feed at this address.\n");
    }
    for (path, says) in [
        (
            "/search.atom?sort=sideways",
            "sort: \"sideways\" is not a sort order",
        ),
        (
            "/search.atom?grade=13",
            "grade: \"13\" is not a valid grade band value",
        ),
        (
            "/search.atom?per_page=0",
            "per_page: \"0\" is not between 1 and 100",
        ),
        ("/search.atom?page=x", "page: \"x\" is not a page number"),
    ] {
        let (status, headers, body) = fetch(&app, path, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert!(body.starts_with(says), "{path}: {body}");
    }
}
