//! The closed vocabularies of the content format. Each enum knows its file spelling (`as_str`)
//! and a label for people (`label`).

/// Declares a closed vocabulary: `(Variant, "file-spelling", "Label for people")`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl Vocabulary for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }
            fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A closed set of values with a file spelling and a human label.
pub trait Vocabulary: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn label(self) -> &'static str;

    /// Parses the file spelling; the error lists every valid value.
    fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let valid: Vec<String> = Self::ALL
                    .iter()
                    .map(|v| format!("\"{}\"", v.as_str()))
                    .collect();
                format!("\"{s}\" is not one of {}", valid.join(", "))
            })
    }
}

vocabulary!(
    /// School grade bands.
    GradeBand {
        Pk => "PK", "Pre-K";
        K2 => "K-2", "K–2";
        G35 => "3-5", "3–5";
        G68 => "6-8", "6–8";
        G912 => "9-12", "9–12";
    }
);

vocabulary!(
    /// Subjects a practice is used in.
    Subject {
        Ela => "ela", "English language arts";
        Math => "math", "Math";
        Science => "science", "Science";
        SocialStudies => "social-studies", "Social studies";
        Eld => "eld", "English language development";
        Sel => "sel", "Social-emotional learning";
        Arts => "arts", "Arts";
        Pe => "pe", "Physical education";
        Cte => "cte", "Career and technical education";
        CrossCurricular => "cross-curricular", "Cross-curricular";
    }
);

vocabulary!(
    /// How strong the evidence for a practice is.
    Stage {
        Promising => "promising", "Promising";
        Confirmed => "confirmed", "Confirmed";
        Replicated => "replicated", "Replicated";
    }
);

vocabulary!(
    /// Where a practice is in its life: only `vetted` is public.
    Status {
        Draft => "draft", "Draft";
        Submitted => "submitted", "Submitted for review";
        Vetted => "vetted", "Vetted";
        Returned => "returned", "Returned with comments";
        Archived => "archived", "Archived";
    }
);

vocabulary!(
    /// The three STEP data ingredients.
    Ingredient {
        StudentOutcome => "student-outcome", "Student outcome";
        TeachingPractice => "teaching-practice", "Teaching practice";
        ProfessionalCondition => "professional-condition", "Professional condition";
    }
);

vocabulary!(
    /// Units a measure is expressed in.
    Unit {
        Percent => "percent", "%";
        Points => "points", "points";
        Count => "count", "count";
        Rating => "rating", "rating";
    }
);

vocabulary!(
    /// School levels.
    Level {
        Elementary => "elementary", "Elementary";
        Middle => "middle", "Middle";
        High => "high", "High";
        K8 => "k-8", "K–8";
        K12 => "k-12", "K–12";
    }
);

vocabulary!(
    /// School locales.
    Locale {
        Urban => "urban", "Urban";
        Suburban => "suburban", "Suburban";
        Town => "town", "Town";
        Rural => "rural", "Rural";
    }
);

vocabulary!(
    /// Where an adopting team is with a practice.
    AdoptionStatus {
        Exploring => "exploring", "Exploring";
        Testing => "testing", "Testing";
        Adopted => "adopted", "Adopted";
        Adapted => "adapted", "Adapted";
        Discontinued => "discontinued", "Discontinued";
    }
);

vocabulary!(
    /// What an adopting team reports happened.
    Outcome {
        Improved => "improved", "Improved";
        NoChange => "no-change", "No change";
        Declined => "declined", "Declined";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_lists_valid_values() {
        for g in GradeBand::ALL {
            assert_eq!(GradeBand::parse(g.as_str()), Ok(*g));
        }
        let err = Subject::parse("maths").unwrap_err();
        assert!(
            err.contains("\"math\"") && err.contains("\"cross-curricular\""),
            "{err}"
        );
    }
}

vocabulary!(
    /// What a signed-in person may do: members write their teams' practices, coaches also
    /// review, admins also manage people.
    Role {
        Member => "member", "Team member";
        Coach => "coach", "Coach";
        Admin => "admin", "Administrator";
    }
);

vocabulary!(
    /// How many students a school enrols, as a band (never the count: see `SchoolProfile`).
    EnrolmentBand {
        Under300 => "under-300", "under 300 students";
        From300 => "300-599", "300–599 students";
        From600 => "600-999", "600–999 students";
        From1000 => "1000-1999", "1,000–1,999 students";
        From2000 => "2000+", "2,000 students or more";
    }
);

vocabulary!(
    /// A share of a school's students, as a band of percentages (never a count).
    ShareBand {
        To20 => "0-20", "0–20 %";
        To40 => "20-40", "20–40 %";
        To60 => "40-60", "40–60 %";
        To80 => "60-80", "60–80 %";
        To100 => "80-100", "80–100 %";
    }
);

vocabulary!(
    /// The NCES locale of a school (its code is `NcesLocale::code`): the finer form of
    /// `Locale`, with which it must agree.
    NcesLocale {
        CityLarge => "city-large", "large city";
        CityMidsize => "city-midsize", "midsize city";
        CitySmall => "city-small", "small city";
        SuburbLarge => "suburb-large", "large suburb";
        SuburbMidsize => "suburb-midsize", "midsize suburb";
        SuburbSmall => "suburb-small", "small suburb";
        TownFringe => "town-fringe", "fringe town";
        TownDistant => "town-distant", "distant town";
        TownRemote => "town-remote", "remote town";
        RuralFringe => "rural-fringe", "fringe rural area";
        RuralDistant => "rural-distant", "distant rural area";
        RuralRemote => "rural-remote", "remote rural area";
    }
);

vocabulary!(
    /// How a measure's figures were gathered: what they can show about cause (ESSA tiers).
    Design {
        PrePost => "pre-post", "Before and after, no comparison group";
        Comparison => "comparison", "Compared with a group that did not use the practice";
        Randomized => "randomized", "Randomized: classrooms or students assigned by chance";
    }
);

vocabulary!(
    /// Which way a measure improves: attendance up, absences down.
    Better {
        Higher => "higher", "Higher is better";
        Lower => "lower", "Lower is better";
    }
);

/// A file that names no design describes a pre-post measure: what every catalog before
/// designs existed holds. (Written out: `vocabulary!` takes no attributes on variants.)
#[allow(clippy::derivable_impls)]
impl Default for Design {
    fn default() -> Self {
        Design::PrePost
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Better {
    fn default() -> Self {
        Better::Higher
    }
}
