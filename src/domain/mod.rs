//! Plain types of the domain and their validation. No I/O here.

pub mod essa;
pub mod limits;
mod practice;
pub mod privacy;
pub mod profile;
mod quarter;
pub mod question;
mod slug;
mod standing;
pub mod upload;
mod vocab;

pub use limits::{
    MAX_ADAPTATIONS, MAX_LOCAL_NAME, MAX_MEASURES, MAX_RESOURCES, MAX_SECTION, MAX_SUMMARY,
    MAX_TAG, MAX_TAGS, MAX_TICKED, MAX_TITLE, typed_len,
};
pub use practice::{Cost, MATERIALS_BANDS, PracticeDoc, START_BANDS, SectionKind};
pub use profile::SchoolProfile;
pub use quarter::Quarter;
pub use slug::Slug;
pub use standing::Standing;
pub use vocab::{
    AdoptionStatus, Better, Design, EnrolmentBand, GradeBand, Ingredient, Level, Locale,
    NcesLocale, Outcome, Role, ShareBand, Stage, Status, Subject, Unit, Vocabulary,
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
    /// How the figures were gathered; `pre-post` where a file names no design.
    pub design: Design,
    pub better: Better,
    /// The comparison group's figures: required for a comparison or randomized design.
    pub comparison: Option<Comparison>,
    /// The p-value the team's analysis reported for the difference from the comparison group.
    pub p_value: Option<f64>,
}

/// A measure's fields as the content format names them, in its order: the form's inputs
/// (`m-name`…) and the database's columns are named the same.
pub const MEASURE_FIELDS: [&str; 14] = [
    "name",
    "ingredient",
    "unit",
    "instrument",
    "baseline",
    "result",
    "n",
    "period",
    "design",
    "better",
    "comparison_baseline",
    "comparison_result",
    "comparison_n",
    "p_value",
];

/// The figures of a group that did not use the practice, measured over the same period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub baseline: f64,
    pub result: f64,
    pub n: i64,
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
        let mut figures = vec![(
            "n",
            self.n,
            "baseline",
            self.baseline,
            "result",
            self.result,
        )];
        match (self.design, self.comparison) {
            (Design::PrePost, Some(_)) => out.push((
                "design",
                "a pre-post measure has no comparison group: choose design = \"comparison\" \
                 (or \"randomized\") or remove the comparison figures"
                    .to_string(),
            )),
            (Design::Comparison | Design::Randomized, None) => out.push((
                "comparison_baseline",
                format!(
                    "a {} measure needs the comparison group's baseline, result and n \
                     (comparison_baseline, comparison_result, comparison_n)",
                    self.design
                ),
            )),
            (_, Some(c)) => figures.push((
                "comparison_n",
                c.n,
                "comparison_baseline",
                c.baseline,
                "comparison_result",
                c.result,
            )),
            (Design::PrePost, None) => {}
        }
        for (n_field, n, baseline_field, baseline, result_field, result) in figures {
            if n < min_cell.get() {
                out.push((
                    n_field,
                    format!(
                        "{n} is below the minimum cell size of {}: evidence must be aggregate, \
                         and groups this small can identify students; combine classrooms or \
                         periods",
                        min_cell.get()
                    ),
                ));
            }
            for (field, value) in [(baseline_field, baseline), (result_field, result)] {
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
        }
        if let Some(p) = self.p_value {
            if self.design == Design::PrePost {
                out.push((
                    "p_value",
                    "a p-value is kept for a comparison or randomized design, where it tests \
                     the difference from the comparison group"
                        .to_string(),
                ));
            } else if !(p > 0.0 && p <= 1.0) {
                out.push(("p_value", format!("{p} is not a p-value between 0 and 1")));
            }
        }
        out
    }

    /// Whether every group the measure describes is at least the minimum cell size: a
    /// measure stored before the network raised its minimum is not shown.
    pub fn publishable(&self, min_cell: CellSize) -> bool {
        self.n >= min_cell.get() && self.comparison.is_none_or(|c| c.n >= min_cell.get())
    }

    /// The change from baseline to result, positive when it went the better way.
    pub fn gain(&self) -> f64 {
        self.better.sign() * (self.result - self.baseline)
    }

    /// How much more the group using the practice gained than the comparison group (in the
    /// measure's unit, positive when favourable); `None` without a comparison group.
    pub fn effect(&self) -> Option<f64> {
        let c = self.comparison?;
        Some(self.gain() - self.better.sign() * (c.result - c.baseline))
    }
}

impl Better {
    fn sign(self) -> f64 {
        match self {
            Better::Higher => 1.0,
            Better::Lower => -1.0,
        }
    }
}
