//! The ESSA evidence level that a practice's recorded evidence can support, following the
//! definitions of "evidence-based" in ESEA section 8101(21)(A) as amended by ESSA and the U.S.
//! Department of Education's non-regulatory guidance "Using Evidence to Strengthen Education
//! Investments" (2016, updated 2023):
//!
//! - Tier 1, strong: a well-designed, well-implemented experimental (randomized) study with a
//!   statistically significant favourable effect on a student outcome, a sample of at least
//!   350 students across more than one site, and no overriding significant negative evidence.
//! - Tier 2, moderate: the same from a quasi-experimental study (a comparison group with
//!   baseline figures for both groups).
//! - Tier 3, promising: a study with a comparison and a statistically significant favourable
//!   effect — which includes a study of Tier 1 or 2 design that misses the sample size or
//!   multi-site requirement.
//! - Tier 4, demonstrates a rationale: a well-specified logic model, and ongoing efforts to
//!   examine the effects (here: a recorded student-outcome measure).
//!
//! The hub can only read what teams record, so a level above 4 is what the recorded figures
//! *can support*; a coach confirms it during review before the page claims it.

use std::collections::BTreeMap;

use super::{Design, Ingredient, Measure};

/// Students across the studies that Tiers 1 and 2 require.
pub const MIN_SAMPLE: i64 = 350;
/// Sites (schools) that Tiers 1 and 2 require.
pub const MIN_SITES: usize = 2;
/// The significance level a reported p-value must be below.
pub const ALPHA: f64 = 0.05;

/// An ESSA evidence tier; a smaller number is stronger evidence (so `Strong < Rationale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Strong = 1,
    Moderate = 2,
    Promising = 3,
    Rationale = 4,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Strong,
        Tier::Moderate,
        Tier::Promising,
        Tier::Rationale,
    ];

    pub fn number(self) -> i64 {
        self as i64
    }

    pub fn from_number(n: i64) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.number() == n)
    }

    /// The search facet's value: `tier-1` … `tier-4`.
    pub fn key(self) -> &'static str {
        match self {
            Tier::Strong => "tier-1",
            Tier::Moderate => "tier-2",
            Tier::Promising => "tier-3",
            Tier::Rationale => "tier-4",
        }
    }

    pub fn from_key(key: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.key() == key)
    }

    /// "Tier 3 · Promising evidence"
    pub fn label(self) -> &'static str {
        match self {
            Tier::Strong => "Tier 1 · Strong evidence",
            Tier::Moderate => "Tier 2 · Moderate evidence",
            Tier::Promising => "Tier 3 · Promising evidence",
            Tier::Rationale => "Tier 4 · Demonstrates a rationale",
        }
    }
}

/// A student-outcome measure and the school whose students it describes: the originating
/// school's own evidence or an adopting school's report.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub school: &'a str,
    pub measure: &'a Measure,
}

/// What the recorded evidence can support, in words a principal can check.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The strongest tier the figures support, before any coach confirms it.
    pub supported: Option<Tier>,
    /// Whether the Tier 4 conditions hold (a logic model and a student-outcome measure).
    pub rationale: bool,
    /// Why the level is what it is.
    pub reason: String,
    /// What the next level up needs that is missing; `None` at Tier 1.
    pub next: Option<String>,
}

/// How one measure counts, if it counts for Tiers 1–3 at all.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Finding {
    /// A comparison with a significant favourable effect.
    Favourable,
    /// A comparison with a significant unfavourable effect: negative evidence.
    Unfavourable,
    /// A comparison without a significant difference (or without a p-value).
    Inconclusive,
}

fn finding(m: &Measure) -> Option<Finding> {
    if m.ingredient != Ingredient::StudentOutcome || m.design == Design::PrePost {
        return None;
    }
    let effect = m.effect()?;
    Some(match m.p_value {
        Some(p) if p < ALPHA && effect > 0.0 => Finding::Favourable,
        Some(p) if p < ALPHA && effect < 0.0 => Finding::Unfavourable,
        _ => Finding::Inconclusive,
    })
}

/// Schools and students behind the favourable findings of the given designs. A school
/// counts its largest such study once (two measures of one school describe the same
/// students), with both groups' students.
fn reach(evidence: &[Evidence], designs: &[Design]) -> (usize, i64) {
    let mut by_school: BTreeMap<&str, i64> = BTreeMap::new();
    for e in evidence {
        if designs.contains(&e.measure.design) && finding(e.measure) == Some(Finding::Favourable) {
            let n = e.measure.n + e.measure.comparison.map_or(0, |c| c.n);
            let best = by_school.entry(e.school).or_default();
            *best = (*best).max(n);
        }
    }
    (by_school.len(), by_school.values().sum())
}

fn schools_phrase(n: usize) -> String {
    if n == 1 {
        "1 school".into()
    } else {
        format!("{n} schools")
    }
}

/// The strongest level the evidence supports. `logic_model`: whether the practice has a
/// Logic model section.
pub fn assess(logic_model: bool, evidence: &[Evidence]) -> Assessment {
    let outcomes = evidence
        .iter()
        .filter(|e| e.measure.ingredient == Ingredient::StudentOutcome)
        .count();
    let rationale = logic_model && outcomes > 0;
    let findings: Vec<(Evidence, Finding)> = evidence
        .iter()
        .filter_map(|e| Some((*e, finding(e.measure)?)))
        .collect();
    let negative: Vec<&str> = findings
        .iter()
        .filter(|(_, f)| *f == Finding::Unfavourable)
        .map(|(e, _)| e.school)
        .collect();
    let favourable = findings.iter().any(|(_, f)| *f == Finding::Favourable);
    let (rct_sites, rct_sample) = reach(evidence, &[Design::Randomized]);
    let (all_sites, all_sample) = reach(evidence, &[Design::Randomized, Design::Comparison]);
    let meets = |sites: usize, sample: i64| sites >= MIN_SITES && sample >= MIN_SAMPLE;
    let size_needs = |sites: usize, sample: i64| {
        let now = if sites == 0 {
            "none yet".to_string()
        } else {
            format!("now: {}, {sample} students", schools_phrase(sites))
        };
        format!("{MIN_SITES} or more schools with {MIN_SAMPLE} or more students together ({now})")
    };
    let rationale_reason = "Its logic model says why it should work, and the team measures a \
                            student outcome to examine its effects.";
    let compare_next = "Tier 3 needs a student-outcome measure compared with a group that did \
                        not use the practice (design comparison or randomized, with both \
                        groups' baseline and result) and a statistically significant favourable \
                        difference (p below 0.05).";

    if !negative.is_empty() {
        let mut schools: Vec<&str> = negative.clone();
        schools.dedup();
        return Assessment {
            supported: rationale.then_some(Tier::Rationale),
            rationale,
            reason: format!(
                "A comparison at {} found a statistically significant unfavourable effect on a \
                 student outcome; while that stands, the evidence supports no tier above 4.{}",
                schools.join(", "),
                if rationale {
                    format!(" {rationale_reason}")
                } else {
                    String::new()
                }
            ),
            next: Some(
                "A higher tier needs favourable results that are not overridden by significant \
                 negative ones: new comparison studies, or a review of what went differently \
                 where it declined."
                    .into(),
            ),
        };
    }
    if rct_sites > 0 && meets(rct_sites, rct_sample) {
        return Assessment {
            supported: Some(Tier::Strong),
            rationale,
            reason: format!(
                "Randomized studies at {} with {rct_sample} students found a statistically \
                 significant favourable effect on a student outcome.",
                schools_phrase(rct_sites)
            ),
            next: None,
        };
    }
    if meets(all_sites, all_sample) {
        return Assessment {
            supported: Some(Tier::Moderate),
            rationale,
            reason: format!(
                "Comparison-group studies at {} with {all_sample} students found a \
                 statistically significant favourable effect on a student outcome.",
                schools_phrase(all_sites)
            ),
            next: Some(format!(
                "Tier 1 needs randomized studies (classrooms or students assigned by chance) \
                 with the same result at {}.",
                size_needs(rct_sites, rct_sample)
            )),
        };
    }
    if favourable {
        return Assessment {
            supported: Some(Tier::Promising),
            rationale,
            reason: format!(
                "A study with a comparison group found a statistically significant favourable \
                 effect on a student outcome, at {} with {all_sample} students.",
                schools_phrase(all_sites)
            ),
            next: Some(format!(
                "Tier 2 needs such studies at {}.",
                size_needs(all_sites, all_sample)
            )),
        };
    }
    let inconclusive = findings.iter().any(|(_, f)| *f == Finding::Inconclusive);
    let next = if inconclusive {
        format!(
            "{compare_next} The comparisons recorded so far report no p-value below 0.05, or \
             no favourable difference."
        )
    } else {
        compare_next.to_string()
    };
    if rationale {
        return Assessment {
            supported: Some(Tier::Rationale),
            rationale,
            reason: rationale_reason.into(),
            next: Some(next),
        };
    }
    let mut missing = Vec::new();
    if !logic_model {
        missing.push(
            "a Logic model section (what teachers do → what changes for students → the outcome \
             measured)",
        );
    }
    if outcomes == 0 {
        missing.push("a student-outcome measure that examines its effects");
    }
    Assessment {
        supported: None,
        rationale,
        reason: "The recorded evidence does not yet meet an ESSA tier.".into(),
        next: Some(format!("Tier 4 needs {}.", missing.join(" and "))),
    }
}

impl Assessment {
    /// The tier the hub shows: a tier above 4 only once a coach confirmed it (and never
    /// above what the figures support today); until then Tier 4 where its conditions hold.
    pub fn shown(&self, confirmed: Option<Tier>) -> Option<Tier> {
        match self.supported {
            Some(t) if t < Tier::Rationale => match confirmed {
                Some(c) if c < Tier::Rationale => Some(c.max(t)),
                _ => self.rationale.then_some(Tier::Rationale),
            },
            other => other,
        }
    }

    /// A tier the figures support that no coach has confirmed yet.
    pub fn pending(&self, confirmed: Option<Tier>) -> Option<Tier> {
        let shown = self.shown(confirmed);
        self.supported.filter(|s| shown.is_none_or(|t| *s < t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Better, Comparison, Unit};

    fn measure(design: Design, n: i64, c_n: i64, p: Option<f64>, gain: f64) -> Measure {
        Measure {
            name: "Reading proficiency".into(),
            ingredient: Ingredient::StudentOutcome,
            instrument: "Benchmark".into(),
            unit: Unit::Percent,
            baseline: 40.0,
            result: 40.0 + gain,
            n,
            period: "2025".into(),
            design,
            better: Better::Higher,
            comparison: (design != Design::PrePost).then_some(Comparison {
                baseline: 40.0,
                result: 41.0,
                n: c_n,
            }),
            p_value: p,
        }
    }

    fn tier(logic: bool, rows: &[(&str, Measure)]) -> Option<Tier> {
        let ev: Vec<Evidence> = rows
            .iter()
            .map(|(s, m)| Evidence {
                school: s,
                measure: m,
            })
            .collect();
        assess(logic, &ev).supported
    }

    #[test]
    fn sample_size_boundary_349_vs_350() {
        let at = |n| {
            tier(
                true,
                &[
                    ("a", measure(Design::Comparison, n, 100, Some(0.01), 10.0)),
                    ("b", measure(Design::Comparison, 100, 49, Some(0.02), 10.0)),
                ],
            )
        };
        assert_eq!(at(100), Some(Tier::Promising)); // 200 + 149 = 349
        assert_eq!(at(101), Some(Tier::Moderate)); // 201 + 149 = 350
    }

    #[test]
    fn one_site_is_promising_two_sites_moderate_or_strong() {
        let big = |d| measure(d, 300, 300, Some(0.001), 12.0);
        assert_eq!(
            tier(false, &[("a", big(Design::Randomized))]),
            Some(Tier::Promising)
        );
        assert_eq!(
            tier(
                false,
                &[
                    ("a", big(Design::Randomized)),
                    ("a", big(Design::Randomized))
                ]
            ),
            Some(Tier::Promising),
            "two measures of one school are one site"
        );
        assert_eq!(
            tier(
                false,
                &[
                    ("a", big(Design::Randomized)),
                    ("b", big(Design::Randomized))
                ]
            ),
            Some(Tier::Strong)
        );
        assert_eq!(
            tier(
                false,
                &[
                    ("a", big(Design::Randomized)),
                    ("b", big(Design::Comparison))
                ]
            ),
            Some(Tier::Moderate),
            "Tier 1 needs every counted site randomized"
        );
    }

    #[test]
    fn pre_post_never_rises_above_tier_4() {
        let pp = measure(Design::PrePost, 5000, 0, None, 30.0);
        assert_eq!(
            tier(true, &[("a", pp.clone()), ("b", pp.clone())]),
            Some(Tier::Rationale)
        );
        assert_eq!(tier(false, &[("a", pp)]), None, "no logic model: no tier");
        let cmp = measure(Design::Comparison, 60, 60, Some(0.04), 8.0);
        assert_eq!(tier(false, &[("a", cmp)]), Some(Tier::Promising));
    }

    #[test]
    fn significance_direction_and_negative_evidence() {
        let not_significant = measure(Design::Comparison, 400, 400, Some(0.05), 8.0);
        assert_eq!(tier(true, &[("a", not_significant)]), Some(Tier::Rationale));
        let no_p = measure(Design::Comparison, 400, 400, None, 8.0);
        assert_eq!(tier(true, &[("a", no_p)]), Some(Tier::Rationale));
        // The comparison group gained 1 point; a 0.5-point gain is an unfavourable effect.
        let worse = measure(Design::Comparison, 400, 400, Some(0.01), 0.5);
        let good = measure(Design::Comparison, 400, 400, Some(0.01), 9.0);
        assert_eq!(
            tier(true, &[("a", good.clone()), ("b", good.clone())]),
            Some(Tier::Moderate)
        );
        assert_eq!(
            tier(true, &[("a", good.clone()), ("b", good), ("c", worse)]),
            Some(Tier::Rationale)
        );
        // Lower is better: a fall beats the comparison group's rise.
        let mut absences = measure(Design::Comparison, 400, 400, Some(0.01), -6.0);
        absences.better = Better::Lower;
        assert_eq!(tier(false, &[("a", absences)]), Some(Tier::Promising));
    }

    #[test]
    fn a_coach_confirms_above_tier_4_and_never_above_the_figures() {
        let a = Assessment {
            supported: Some(Tier::Moderate),
            rationale: true,
            reason: String::new(),
            next: None,
        };
        assert_eq!(a.shown(None), Some(Tier::Rationale));
        assert_eq!(a.pending(None), Some(Tier::Moderate));
        assert_eq!(a.shown(Some(Tier::Moderate)), Some(Tier::Moderate));
        assert_eq!(a.pending(Some(Tier::Moderate)), None);
        assert_eq!(
            a.shown(Some(Tier::Strong)),
            Some(Tier::Moderate),
            "capped by the figures"
        );
        assert_eq!(a.shown(Some(Tier::Promising)), Some(Tier::Promising));
        assert_eq!(a.pending(Some(Tier::Promising)), Some(Tier::Moderate));
        let no_rationale = Assessment {
            rationale: false,
            ..a
        };
        assert_eq!(no_rationale.shown(None), None);
    }
}
