//! Markdown → sanitised HTML. Runs once when a revision is saved (and for the author's preview,
//! with the same function), never per page view.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::images::{ImagePolicy, ImageSource};

/// The Markdown dialect of the catalog, spelled out so an upgrade cannot change it silently.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Prefix of the footnote ids we generate; the only ids the sanitiser lets through.
const FOOTNOTE_PREFIX: &str = "fn-";

/// Builds the sanitiser of one image policy. Markdown images off the policy never reach it
/// as `<img>` (see `images_as_links`); an `<img>` typed as raw HTML loses its `src` here
/// instead, so it loads nothing.
fn sanitizer(images: ImagePolicy) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("nofollow noopener noreferrer"))
        .add_generic_attributes(["id"])
        .add_allowed_classes("sup", ["footnote-reference"])
        .add_allowed_classes("div", ["footnote-definition"])
        .add_allowed_classes("span", ["task"])
        .attribute_filter(move |element, attribute, value| {
            // Ids could clobber the page's own (DOM clobbering): keep only footnote anchors.
            let clobbers = attribute == "id" && !value.starts_with(FOOTNOTE_PREFIX);
            let off_policy = element == "img" && attribute == "src" && !images.allows(value);
            if clobbers || off_policy {
                None
            } else {
                Some(value.into())
            }
        });
    b
}

/// Renders practice Markdown under one image policy. A hub keeps one (in its `Db`), built
/// from its settings, so that every revision is rendered the same way wherever it is saved.
pub struct Renderer {
    images: ImagePolicy,
    sanitizer: ammonia::Builder<'static>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("images", &self.images)
            .finish_non_exhaustive()
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new(ImagePolicy::default())
    }
}

impl Renderer {
    pub fn new(images: ImagePolicy) -> Renderer {
        Renderer {
            sanitizer: sanitizer(images.clone()),
            images,
        }
    }

    pub fn images(&self) -> &ImagePolicy {
        &self.images
    }

    /// Renders a section's Markdown to HTML that is safe to serve as is.
    ///
    /// Headings inside a section become level 3 or deeper, because the page around it
    /// already uses levels 1 and 2 (keeps the heading outline in order).
    pub fn render(&self, markdown: &str) -> String {
        let events = flatten_deep_nesting(Parser::new_ext(markdown, options())).map(|event| {
            match event {
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }) => Event::Start(Tag::Heading {
                    level: demote(level),
                    id,
                    classes,
                    attrs,
                }),
                Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demote(level))),
                Event::FootnoteReference(label) => Event::FootnoteReference(footnote(label)),
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    Event::Start(Tag::FootnoteDefinition(footnote(label)))
                }
                // A disabled checkbox says nothing to a screen reader; a symbol with text does.
                Event::TaskListMarker(done) => Event::InlineHtml(
                    if done {
                        "<span class=\"task\">☑ done:</span> "
                    } else {
                        "<span class=\"task\">☐ to do:</span> "
                    }
                    .into(),
                ),
                other => other,
            }
        });
        let events = images_as_links(events, &self.images);
        let mut html = String::with_capacity(markdown.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, events);
        self.sanitizer.clean(&html).to_string()
    }

    /// Renders every section of a practice, in reading order, as the practice page shows
    /// it. The author's preview is the saved revision, rendered by this same function, so
    /// preview and publication never differ.
    pub fn render_body(
        &self,
        sections: &std::collections::BTreeMap<crate::domain::SectionKind, String>,
    ) -> String {
        let mut out = String::new();
        for (kind, md) in sections {
            let key = kind.key();
            out.push_str(&format!(
                "<section class=\"part part-{key}\" aria-labelledby=\"s-{key}\">\n<h2 id=\"s-{key}\">{}</h2>\n{}</section>\n",
                kind.heading(),
                self.render(md)
            ));
        }
        out
    }
}

/// The renderer of a hub that allows images from itself only.
static HUB_ONLY: LazyLock<Renderer> = LazyLock::new(Renderer::default);

/// [`Renderer::render`] with images from the hub only (no `image_hosts`).
pub fn render(markdown: &str) -> String {
    HUB_ONLY.render(markdown)
}

/// [`Renderer::render_body`] with images from the hub only (no `image_hosts`).
pub fn render_body(
    sections: &std::collections::BTreeMap<crate::domain::SectionKind, String>,
) -> String {
    HUB_ONLY.render_body(sections)
}

/// Turns every image the policy refuses into what it says instead: a link to it, reading
/// "Image: <alt text> (<host>)", so the reader loses nothing and their browser requests
/// nothing until they choose to follow it. A `data:` image (or another scheme) has no
/// address worth a link: its alt text stays, marked as an image not shown.
fn images_as_links<'a>(
    events: impl Iterator<Item = Event<'a>>,
    images: &ImagePolicy,
) -> impl Iterator<Item = Event<'a>> {
    // One entry per open image: what closes it (None: kept as an image).
    let mut open: Vec<Option<Vec<Event<'a>>>> = Vec::new();
    events.flat_map(move |event| match event {
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            if images.allows(&dest_url) {
                open.push(None);
                return vec![Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })];
            }
            let source = ImageSource::of(&dest_url);
            let describe = source.describe();
            if let ImageSource::Host { .. } = source {
                open.push(Some(vec![
                    Event::Text(format!(" ({describe})").into()),
                    Event::End(TagEnd::Link),
                ]));
                vec![
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }),
                    Event::Text("Image: ".into()),
                ]
            } else {
                open.push(Some(vec![Event::Text(format!(" ({describe})]").into())]));
                vec![Event::Text("[Image not shown: ".into())]
            }
        }
        Event::End(TagEnd::Image) => match open.pop().flatten() {
            Some(close) => close,
            None => vec![Event::End(TagEnd::Image)],
        },
        other => vec![other],
    })
}

/// Quotes and lists nested deeper than this keep their text but lose the extra levels: 20,000
/// `>` in a row took the HTML sanitiser three seconds (it is quadratic in depth), and no
/// reader follows a quote inside the 33rd quote anyway.
pub const MAX_NESTING: usize = 32;

/// Drops the start and end of every quote, list and list item nested deeper than
/// [`MAX_NESTING`], keeping what is inside them.
fn flatten_deep_nesting<'a>(
    events: impl Iterator<Item = Event<'a>>,
) -> impl Iterator<Item = Event<'a>> {
    // For each open tag: whether it was dropped.
    let mut open: Vec<bool> = Vec::new();
    let mut depth = 0;
    events.filter(move |event| match event {
        Event::Start(tag) => {
            let container = matches!(tag, Tag::BlockQuote(_) | Tag::List(_) | Tag::Item);
            let drop = container && depth >= MAX_NESTING;
            if container && !drop {
                depth += 1;
            }
            open.push(drop);
            !drop
        }
        Event::End(end) => {
            let dropped = open.pop().unwrap_or(false);
            if !dropped && matches!(end, TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item) {
                depth -= 1;
            }
            !dropped
        }
        _ => true,
    })
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 | HeadingLevel::H2 => HeadingLevel::H3,
        other => other,
    }
}

fn footnote(label: CowStr<'_>) -> CowStr<'_> {
    let safe: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{FOOTNOTE_PREFIX}{safe}").into()
}

/// Whether `markdown` holds a level-2 heading (`## x`, or a line underlined with `---`): in a
/// practice file that line starts the next section, so a section typed in the form must not
/// hold one, or its export would move text on re-import.
pub fn has_level_two_heading(markdown: &str) -> bool {
    Parser::new_ext(markdown, options()).any(|e| {
        matches!(
            e,
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            })
        )
    })
}

/// The text of each top-level item of the bullet lists in `markdown` (the essential aspects an
/// adopter ticks off, the necessary conditions).
pub fn bullet_items(markdown: &str) -> Vec<String> {
    let mut items = Vec::new();
    // One entry per open list: is it a bullet list?
    let mut lists: Vec<bool> = Vec::new();
    let mut current: Option<String> = None;
    for event in Parser::new_ext(markdown, options()) {
        let top_bullet = lists == [true];
        match event {
            Event::Start(Tag::List(first_number)) => lists.push(first_number.is_none()),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) if top_bullet => current = Some(String::new()),
            Event::End(TagEnd::Item) if top_bullet => {
                if let Some(text) = current.take() {
                    items.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(cur) = current.as_mut() {
                    cur.push_str(&t);
                }
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::Start(Tag::Item)
            | Event::End(TagEnd::Paragraph) => {
                if let Some(cur) = current.as_mut() {
                    cur.push(' ');
                }
            }
            _ => {}
        }
    }
    items
}

/// The sections of a body that `render_body` made, as (key, HTML inside the section): the
/// API serves each section's HTML as it was rendered and sanitised at save time. The
/// sanitiser keeps no `class` on a `section`, so only `render_body` writes this marker.
pub fn split_body(body_html: &str) -> Vec<(&str, &str)> {
    body_html
        .split("<section class=\"part part-")
        .skip(1)
        .filter_map(|part| {
            let (key, rest) = part.split_once('"')?;
            let (_, inner) = rest.split_once("</h2>\n")?;
            Some((key, inner.strip_suffix("</section>\n").unwrap_or(inner)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_body_splits_back_into_its_sections() {
        use crate::domain::SectionKind;
        let sections = std::collections::BTreeMap::from([
            (
                SectionKind::WhatItIs,
                "Plain *words*.\n\n<section class=\"part part-x\">".to_string(),
            ),
            (SectionKind::Evidence, "- one\n- two".to_string()),
        ]);
        let body = render_body(&sections);
        let parts = split_body(&body);
        let keys: Vec<&str> = parts.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["what-it-is", "evidence"]);
        assert_eq!(parts[0].1, render(&sections[&SectionKind::WhatItIs]));
        assert_eq!(parts[1].1, render("- one\n- two"));
    }

    #[test]
    fn deep_nesting_keeps_its_text_but_not_its_depth() {
        let html = render(&(">".repeat(20_000) + " the innermost words"));
        assert!(html.contains("the innermost words"));
        assert_eq!(html.matches("<blockquote>").count(), MAX_NESTING);
        let list: String = (0..100)
            .map(|i| " ".repeat(i * 2) + &format!("- item{i}\n"))
            .collect();
        let html = render(&list);
        assert!(html.contains("item99"));
        assert!(html.matches("<ul>").count() <= MAX_NESTING);
    }

    #[test]
    fn renders_the_catalog_dialect() {
        let html =
            render("A ~~b~~ \"c\"\n\n| x |\n|---|\n| 1 |\n\n- [x] done\n\nNote[^1]\n\n[^1]: Foot.");
        assert!(html.contains("<del>b</del>"), "{html}");
        assert!(html.contains("“c”"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("☑ done:"), "{html}");
        assert!(
            html.contains("href=\"#fn-1\"") && html.contains("id=\"fn-1\""),
            "{html}"
        );
    }

    #[test]
    fn links_get_rel_and_scripts_go() {
        let html =
            render("[x](https://example.org) <script>alert(1)</script> [y](javascript:alert(1))");
        assert!(
            html.contains("rel=\"nofollow noopener noreferrer\""),
            "{html}"
        );
        assert!(
            !html.contains("script") && !html.contains("javascript"),
            "{html}"
        );
    }

    #[test]
    fn headings_are_demoted_below_the_page_outline() {
        assert_eq!(render("# Big").trim(), "<h3>Big</h3>");
        assert_eq!(render("#### Small").trim(), "<h4>Small</h4>");
    }

    #[test]
    fn bullet_items_are_the_top_level_bullets() {
        let md = "Intro.\n\n- One *thing*\n  - nested\n- Two\n  continued\n\n1. not a bullet\n";
        assert_eq!(bullet_items(md), vec!["One thing nested", "Two continued"]);
    }

    fn allowing(hosts: &[&str]) -> Renderer {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        Renderer::new(ImagePolicy::new(&hosts).unwrap())
    }

    #[test]
    fn images_off_the_policy_become_links_that_load_nothing() {
        let html = render("![Exit slip](https://tracker.example/p.gif \"t\")");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<a href=\"https://tracker.example/p.gif\"")
                && html.contains("Image: Exit slip (tracker.example)</a>"),
            "{html}"
        );
        let html = render("![pixel](data:image/gif;base64,R0lGODlhAQABAAAAACw=)");
        assert!(!html.contains("<img") && !html.contains("data:"), "{html}");
        assert!(
            html.contains("[Image not shown: pixel (embedded in the text)]"),
            "{html}"
        );
        // Raw HTML is the other way to write an image: it keeps its alt text, not its source.
        let html = render("<img src=\"https://tracker.example/p.gif\" alt=\"x\">");
        assert!(!html.contains("tracker.example"), "{html}");
    }

    #[test]
    fn hub_and_allowed_images_stay_images() {
        let html = render("![Chart](/files/abc/chart.png)");
        assert!(
            html.contains("<img src=\"/files/abc/chart.png\" alt=\"Chart\""),
            "{html}"
        );
        let r = allowing(&["images.district.org"]);
        let html =
            r.render("![A](https://images.district.org/a.png) ![B](https://other.org/b.png)");
        assert!(
            html.contains("<img src=\"https://images.district.org/a.png\""),
            "{html}"
        );
        assert!(html.contains("Image: B (other.org)</a>"), "{html}");
        let html = r.render("<img src=\"https://images.district.org/raw.png\">");
        assert!(
            html.contains("src=\"https://images.district.org/raw.png\""),
            "{html}"
        );
    }
}
