//! Plain types of the domain and their validation. No I/O here.

mod practice;
pub mod privacy;
mod quarter;
mod slug;
mod standing;
mod vocab;

pub use practice::{
    MAX_MEASURES, MAX_RESOURCES, MAX_SECTION, MAX_SUMMARY, MAX_TAG, MAX_TAGS, MAX_TITLE,
    PracticeDoc, SectionKind,
};
pub use quarter::Quarter;
pub use slug::Slug;
pub use standing::Standing;
pub use vocab::{
    AdoptionStatus, GradeBand, Ingredient, Level, Locale, Outcome, Role, Stage, Status, Subject,
    Unit, Vocabulary,
};

/// The longest an adoption's adaptations may be, in characters.
pub const MAX_ADAPTATIONS: usize = 5_000;
/// The most boxes a group of checkboxes (challenge areas, grade bands, subjects, aspects)
/// sends: more than any form offers, so only a tampered form reaches it.
pub const MAX_TICKED: usize = 32;
/// The longest name a person signing in locally may choose.
pub const MAX_LOCAL_NAME: usize = 80;

/// Characters as a form limit counts them: a browser sends a line break as CRLF but counts
/// it once against `maxlength`, so the server does too.
pub fn typed_len(text: &str) -> usize {
    text.chars().filter(|c| *c != '\r').count()
}

/// One measure: an aggregate figure for one of the three STEP data ingredients.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub name: String,
    pub ingredient: Ingredient,
    pub instrument: String,
    pub unit: Unit,
    pub baseline: f64,
    pub result: f64,
    pub n: i64,
    pub period: String,
}

/// A link a team shares beside its practice.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub title: String,
    pub url: String,
}

/// The smallest group a measure may describe. Smaller cells can identify students (FERPA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellSize(i64);

impl CellSize {
    pub const DEFAULT: CellSize = CellSize(10);

    pub fn parse(n: i64) -> Result<Self, String> {
        if (1..=1000).contains(&n) {
            Ok(CellSize(n))
        } else {
            Err(format!(
                "the minimum cell size must be between 1 and 1000, not {n}"
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl Measure {
    /// Problems with this measure, each as (field, message).
    pub fn problems(&self, min_cell: CellSize) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, value) in [
            ("name", &self.name),
            ("instrument", &self.instrument),
            ("period", &self.period),
        ] {
            if value.trim().is_empty() {
                out.push((field, "must not be empty".to_string()));
            }
        }
        if self.n < min_cell.get() {
            out.push((
                "n",
                format!(
                    "{} is below the minimum cell size of {}: evidence must be aggregate, and \
                     groups this small can identify students; combine classrooms or periods",
                    self.n,
                    min_cell.get()
                ),
            ));
        }
        for (field, value) in [("baseline", self.baseline), ("result", self.result)] {
            if !value.is_finite() {
                out.push((field, "must be a number".to_string()));
            } else if self.unit == Unit::Percent && !(0.0..=100.0).contains(&value) {
                out.push((
                    field,
                    format!("{value} is not a percentage between 0 and 100"),
                ));
            } else if value < 0.0 {
                out.push((field, format!("{value} must not be negative")));
            }
        }
        out
    }
}
