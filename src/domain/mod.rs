//! Plain types of the domain and their validation. No I/O here.

pub mod limits;
mod practice;
pub mod privacy;
mod quarter;
pub mod question;
mod slug;
mod standing;
mod vocab;

pub use limits::{
    MAX_ADAPTATIONS, MAX_LOCAL_NAME, MAX_MEASURES, MAX_RESOURCES, MAX_SECTION, MAX_SUMMARY,
    MAX_TAG, MAX_TAGS, MAX_TICKED, MAX_TITLE, typed_len,
};
pub use practice::{PracticeDoc, SectionKind};
pub use quarter::Quarter;
pub use slug::Slug;
pub use standing::Standing;
pub use vocab::{
    AdoptionStatus, GradeBand, Ingredient, Level, Locale, Outcome, Role, Stage, Status, Subject,
    Unit, Vocabulary,
};

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
            } else if let Some(msg) = limits::too_long(value, limits::MAX_LINE) {
                out.push((field, msg));
            }
            if let Some(msg) = limits::control_character(value) {
                out.push((field, msg));
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
