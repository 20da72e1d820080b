//! What search engines and link previews read in a page's head: a description, the
//! canonical address, Open Graph and Twitter card tags, and for a practice schema.org data
//! as JSON-LD.
//!
//! Safe by default: a page is `noindex` unless its handler declares it public with
//! `Chrome::public(PageMeta …)` (see `base.html`). Every address here is absolute, built
//! from `public_url` as the Atom feeds build theirs, so a preview pasted anywhere links back.

use crate::AppState;
use crate::store::pages::PracticeRow;

use super::previews;

/// Characters of a description at most; search engines show about this many.
pub const DESCRIPTION_CHARS: usize = 160;

/// The head of a page that may be indexed and previewed.
pub struct PageMeta {
    /// The page's title without the network's name (that is `og:site_name`).
    pub title: String,
    /// Plain text (the template escapes it).
    pub description: String,
    /// The page's own absolute address.
    pub url: String,
    /// `website`, or `article` for a practice.
    pub og_type: &'static str,
    pub site_name: String,
    pub image: Image,
    /// schema.org data, already serialised and escaped for a `<script>` element.
    pub json_ld: Option<String>,
    /// Whether search engines may index the page: false for a search's results, which are
    /// worth a link preview but not a place in an index.
    pub index: bool,
}

/// An Open Graph image: an absolute address, what it shows, and its size.
pub struct Image {
    pub url: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

impl PageMeta {
    /// A public page at `path` (and query) with the network's own preview image.
    pub fn page(state: &AppState, title: &str, path: &str, description: &str) -> PageMeta {
        let network = &state.settings.network_name;
        PageMeta {
            title: title.to_string(),
            description: describe(description),
            url: absolute(state, path),
            og_type: "website",
            site_name: network.clone(),
            image: Image {
                url: absolute(state, &previews::site_path(network)),
                alt: format!("{network}: practices that work in schools like yours"),
                width: super::preview_image::WIDTH,
                height: super::preview_image::HEIGHT,
            },
            json_ld: None,
            index: true,
        }
    }

    /// A page that is worth a link preview but not a place in a search index.
    pub fn not_indexed(mut self) -> PageMeta {
        self.index = false;
        self
    }

    /// A practice: its summary, its own preview image, and its schema.org description.
    pub fn practice(state: &AppState, p: &PracticeRow, facts: &PracticeFacts) -> PageMeta {
        let path = format!("/practices/{}", p.slug);
        let stage = super::views::stage(&p.stage);
        let mut meta = PageMeta::page(state, &p.title, &path, &p.summary);
        meta.og_type = "article";
        meta.image = Image {
            url: absolute(
                state,
                &previews::practice_path(state, p, &facts.area_names()),
            ),
            alt: format!(
                "{}: {} evidence; {}",
                p.title,
                stage.label.to_lowercase(),
                facts.area_names().join(", ")
            ),
            width: super::preview_image::WIDTH,
            height: super::preview_image::HEIGHT,
        };
        meta.json_ld = Some(script_json(&practice_json_ld(state, p, facts, &meta)));
        meta
    }
}

/// What the practice page knows beside its row, for its structured data.
pub struct PracticeFacts<'a> {
    /// Challenge areas: slug and name.
    pub areas: &'a [(String, String)],
    /// "3–5, 6–8".
    pub grades: &'a str,
    pub license: &'a str,
    pub tags: &'a [String],
}

impl PracticeFacts<'_> {
    fn area_names(&self) -> Vec<String> {
        self.areas.iter().map(|(_, name)| name.clone()).collect()
    }
}

/// `path` on the hub's public address.
pub fn absolute(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.settings.public_url())
}

/// A description of at most `DESCRIPTION_CHARS` characters: the text with its white space
/// made single spaces, cut at a word boundary with an ellipsis when it is longer.
pub fn describe(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= DESCRIPTION_CHARS {
        return text;
    }
    // Room for the ellipsis.
    let limit = text
        .char_indices()
        .nth(DESCRIPTION_CHARS - 1)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..limit];
    // At the last space, unless that would throw away most of the text (one long word).
    let cut = match head.rfind(' ') {
        Some(space) if space > limit / 2 => &head[..space],
        _ => head,
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:—–-.".contains(c))
    )
}

/// JSON for a `<script type="application/ld+json">` element: the parser of a script
/// element's text ends it at `</script` and treats `<!--` specially, and neither escaping
/// nor CDATA works inside it. JSON may write any character as `\uXXXX`, so every `<`, `>`
/// and `&` is written that way: the text then holds no markup at all, and still parses to
/// the same value.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The practice as a schema.org `LearningResource`: made by its team (of its school, of its
/// district), about its challenge areas, for its grades.
fn practice_json_ld(
    state: &AppState,
    p: &PracticeRow,
    facts: &PracticeFacts,
    meta: &PageMeta,
) -> serde_json::Value {
    let org = |kind: &str, name: &str, path: String| serde_json::json!({ "@type": kind, "name": name, "url": absolute(state, &path) });
    let mut district = org(
        "Organization",
        &p.district_name,
        format!("/districts/{}", p.district_slug),
    );
    district["@type"] = "EducationalOrganization".into();
    let mut school = org(
        "EducationalOrganization",
        &p.school_name,
        format!("/schools/{}", p.school_slug),
    );
    school["parentOrganization"] = district;
    let mut team = org(
        "Organization",
        &p.team_name,
        format!("/teams/{}", p.team_slug),
    );
    team["parentOrganization"] = school;
    let mut ld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "LearningResource",
        "name": p.title,
        "headline": p.title,
        "description": p.summary,
        "url": meta.url,
        "image": meta.image.url,
        "inLanguage": "en",
        "isAccessibleForFree": true,
        "learningResourceType": "Teaching practice",
        "audience": { "@type": "EducationalAudience", "educationalRole": "teacher" },
        "author": team,
        "publisher": org("Organization", &state.settings.network_name, "/".into()),
        "about": facts.areas.iter().map(|(slug, name)| serde_json::json!({
            "@type": "DefinedTerm",
            "name": name,
            "url": absolute(state, &format!("/challenges/{slug}")),
        })).collect::<Vec<_>>(),
        "license": license_url(facts.license),
    });
    let mut set = |key: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            ld[key] = v.into();
        }
    };
    set("datePublished", p.published_on.as_deref());
    // The public revision is the one vetted last: its vetting is when the page last changed.
    set("dateModified", p.vetted_on.as_deref());
    set("educationalLevel", Some(facts.grades));
    set("keywords", Some(&facts.tags.join(", ")));
    ld
}

/// A licence as schema.org prefers it, an address: a Creative Commons SPDX identifier
/// (`CC-BY-4.0`, `CC-BY-NC-SA-4.0`, `CC0-1.0`) becomes its deed; anything else stays text.
pub fn license_url(license: &str) -> String {
    let upper = license.trim().to_ascii_uppercase();
    if upper == "CC0-1.0" {
        return "https://creativecommons.org/publicdomain/zero/1.0/".into();
    }
    if let Some(rest) = upper.strip_prefix("CC-")
        && let Some((kinds, version)) = rest.rsplit_once('-')
        && kinds
            .split('-')
            .all(|k| matches!(k, "BY" | "SA" | "NC" | "ND"))
        && version.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return format!(
            "https://creativecommons.org/licenses/{}/{version}/",
            kinds.to_ascii_lowercase()
        );
    }
    license.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_cut_at_a_word_with_an_ellipsis() {
        assert_eq!(describe("  Short\n summary. "), "Short summary.");
        let long = "Students restate a peer's idea before adding their own, ".repeat(5);
        let d = describe(&long);
        assert!(d.chars().count() <= DESCRIPTION_CHARS, "{d}");
        assert!(
            d.ends_with('…') && !d.ends_with(" …") && !d.ends_with(",…"),
            "{d}"
        );
        assert!(long.starts_with(d.trim_end_matches('…')), "{d}");
        // A word is never cut unless it alone is longer than a description.
        let next = long[d.len() - '…'.len_utf8()..].chars().next();
        assert!(matches!(next, Some(' ' | ',')), "{d}");
        let word = "x".repeat(400);
        assert_eq!(describe(&word).chars().count(), DESCRIPTION_CHARS);
    }

    #[test]
    fn script_json_holds_no_markup_and_parses_back() {
        let hostile = "</script><script>alert(1)</script><!-- & -->";
        let text = script_json(&serde_json::json!({ "name": hostile }));
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], hostile);
    }

    #[test]
    fn creative_commons_licences_become_addresses() {
        assert_eq!(
            license_url("CC-BY-4.0"),
            "https://creativecommons.org/licenses/by/4.0/"
        );
        assert_eq!(
            license_url("cc-by-nc-sa-4.0"),
            "https://creativecommons.org/licenses/by-nc-sa/4.0/"
        );
        assert_eq!(
            license_url("CC0-1.0"),
            "https://creativecommons.org/publicdomain/zero/1.0/"
        );
        assert_eq!(license_url("All rights reserved"), "All rights reserved");
    }
}
