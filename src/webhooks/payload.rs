//! What a delivery says: JSON built only from a practice's public revision (see
//! `Db::public_practice`), never from a draft, a submission or a coach's comment. No measure
//! values either, as for e-mail.

use serde_json::{Value, json};

use crate::store::{AdoptionFacts, AdoptionReport, PublicPractice};

/// The practice as every delivery carries it. `base` is the hub's public URL.
pub fn practice(base: &str, p: &PublicPractice) -> Value {
    json!({
        "slug": p.slug,
        "title": p.title,
        "summary": p.summary,
        "url": format!("{base}/practices/{}", p.slug),
        "api_url": format!("{base}/api/v1/practices/{}", p.slug),
        "stage": p.stage,
        "archived": p.status == "archived",
        "challenge_areas": p.areas.iter().map(|(_, slug, name)| json!({"slug": slug, "name": name})).collect::<Vec<_>>(),
        "team": {"slug": p.team_slug, "name": p.team_name},
        "school": {"slug": p.school_slug, "name": p.school_name},
        "district": {"slug": p.district_slug, "name": p.district_name},
    })
}

/// A delivery's body, without its `delivery` id (the outbox adds it).
pub fn body(event: &str, occurred_at: &str, practice: Value) -> Value {
    json!({
        "event": event,
        "occurred_at": occurred_at,
        "practice": practice,
    })
}

/// The adoption part of `practice.adopted` and `adoption.outcome_reported`.
pub fn adoption(report: &AdoptionReport, facts: &AdoptionFacts) -> Value {
    json!({
        "team": {"slug": report.team_slug, "name": report.team_name},
        "school": {"slug": report.school_slug, "name": report.school_name},
        "status": facts.status,
        "outcome": facts.outcome,
    })
}

/// The body of a test ping: no practice, only a way for the receiver to check its setup.
pub fn ping(occurred_at: &str) -> Value {
    json!({
        "event": super::PING,
        "occurred_at": occurred_at,
        "message": "A test delivery from Bright Spots: the signature checks out if your receiver verifies it.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_practice_carries_its_public_fields_and_links() {
        let p = PublicPractice {
            id: 1,
            slug: "restate-then-add".into(),
            title: "Restate, then add".into(),
            summary: "Students restate.".into(),
            stage: "confirmed".into(),
            status: "vetted".into(),
            team_slug: "t".into(),
            team_name: "T".into(),
            school_slug: "s".into(),
            school_name: "S".into(),
            district_id: 1,
            district_slug: "d".into(),
            district_name: "D".into(),
            areas: vec![(3, "academic-discourse".into(), "Academic discourse".into())],
        };
        let v = body(
            "practice.vetted",
            "2026-12-02T00:00:00Z",
            practice("https://hub.example", &p),
        );
        assert_eq!(
            v["practice"]["url"],
            "https://hub.example/practices/restate-then-add"
        );
        assert_eq!(
            v["practice"]["api_url"],
            "https://hub.example/api/v1/practices/restate-then-add"
        );
        assert_eq!(
            v["practice"]["challenge_areas"][0]["slug"],
            "academic-discourse"
        );
        assert_eq!(v["practice"]["archived"], false);
        assert_eq!(v["event"], "practice.vetted");
    }
}
