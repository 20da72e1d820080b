//! The chart's figures from hand-made adoptions.

use super::*;

fn measure(name: &str, unit: Unit, baseline: f64, result: f64, n: i64) -> Measure {
    Measure {
        name: name.into(),
        ingredient: Ingredient::StudentOutcome,
        instrument: "i".into(),
        unit,
        baseline,
        result,
        n,
        period: "p".into(),
        design: Default::default(),
        better: Default::default(),
        comparison: None,
        p_value: None,
    }
}

fn adoption(
    id: i64,
    school: &str,
    status: &str,
    outcome: Option<&str>,
    measures: Vec<Measure>,
) -> AdoptionView {
    AdoptionView {
        id,
        practice_slug: "p".into(),
        practice_title: "P".into(),
        team_slug: format!("{school}-team"),
        team_name: "Team".into(),
        school_slug: school.into(),
        school_name: format!("{school} School"),
        level: "middle".into(),
        locale: "urban".into(),
        district_name: "District".into(),
        status: status.into(),
        started_on: None,
        aspects_kept: "[1,2]".into(),
        aspects: r#"["a","b"]"#.into(),
        adaptations: Some("Too little time in the schedule.".into()),
        outcome: outcome.map(String::from),
        revision_number: 1,
        public_number: Some(1),
        updated_at: Some(format!("2026-01-0{id}")),
        measures,
    }
}

const ORIGIN: Origin<'static> = Origin {
    school_slug: "home",
    school: "Home School",
    district: "Home District",
};

#[test]
fn groups_comparable_measures_and_pools_only_them() {
    let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
    let adoptions = [
        adoption(
            1,
            "a",
            "adopted",
            Some("improved"),
            vec![measure("exit  SLIPS", Unit::Percent, 40.0, 60.0, 100)],
        ),
        adoption(
            2,
            "b",
            "adopted",
            Some("declined"),
            vec![measure("Reading level", Unit::Points, 3.0, 2.5, 40)],
        ),
        adoption(
            3,
            "c",
            "exploring",
            None,
            vec![measure("Exit slips", Unit::Percent, 1.0, 99.0, 50)],
        ),
    ];
    let f = build(&ORIGIN, &own, &adoptions, 10);
    assert_eq!(f.panels.len(), 2);
    let p = &f.panels[0];
    assert_eq!(p.rows.len(), 2, "exploring is not charted");
    assert!(p.rows[0].originating);
    assert_eq!(p.rows[1].change, "+20 percentage points");
    // (33 × 100 + 20 × 100) / 200
    assert!(
        p.pooled
            .as_deref()
            .unwrap()
            .starts_with("+26.5 percentage points")
    );
    let q = &f.panels[1];
    assert_eq!(q.rows[0].verdict, "did not improve: declined");
    assert_eq!(q.rows[0].change, "−0.5 points");
    assert!(q.pooled.is_none(), "one school: nothing to pool");
    assert!(f.several_measures());
    assert_eq!((f.improved, f.tried, f.students), (1, 2, 240));
}

#[test]
fn a_name_match_in_another_unit_is_not_pooled() {
    let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
    let adoptions = [adoption(
        1,
        "a",
        "adopted",
        Some("improved"),
        vec![measure("Exit Slips", Unit::Count, 4.0, 9.0, 30)],
    )];
    let f = build(&ORIGIN, &own, &adoptions, 10);
    assert_eq!(f.panels.len(), 1);
    assert!(f.panels[0].mixed_units && f.panels[0].pooled.is_none());
}

#[test]
fn small_cells_and_other_ingredients_are_left_out() {
    let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
    let mut practice = measure("Exit slips", Unit::Percent, 10.0, 20.0, 50);
    practice.ingredient = Ingredient::TeachingPractice;
    let adoptions = [adoption(
        1,
        "a",
        "discontinued",
        Some("improved"),
        vec![
            measure("Exit slips", Unit::Percent, 11.0, 77.0, 9),
            practice,
        ],
    )];
    let f = build(&ORIGIN, &own, &adoptions, 10);
    assert!(
        f.panels.is_empty(),
        "only the originating school's measure is left"
    );
    assert!(!f.several_measures());
    assert_eq!((f.improved, f.tried, f.students), (0, 1, 100));
}

#[test]
fn discontinued_rows_say_why_and_are_drawn_as_not_improving() {
    let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
    let adoptions = [adoption(
        1,
        "a",
        "discontinued",
        Some("improved"),
        vec![measure("Exit slips", Unit::Percent, 40.0, 45.0, 30)],
    )];
    let f = build(&ORIGIN, &own, &adoptions, 10);
    let row = &f.panels[0].rows[1];
    assert_eq!(row.verdict, "did not improve: discontinued");
    assert_eq!(
        row.reason.as_deref(),
        Some("Reason given: Too little time in the schedule.")
    );
    let svg = &f.panels[0].svg;
    assert!(
        svg.contains("forest-not-improved") && svg.contains("<rect"),
        "{svg}"
    );
    assert!(svg.contains("forest-originating") && svg.contains("<polygon"));
    assert!(svg.contains("change (result − baseline), in percentage points"));
    assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"forest-1-title\">"));
}

#[test]
fn a_measure_only_the_originating_school_reported_still_makes_them_incomparable() {
    let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
    let adoptions = [adoption(
        1,
        "a",
        "adopted",
        Some("improved"),
        vec![measure("Benchmark", Unit::Percent, 40.0, 45.0, 30)],
    )];
    let f = build(&ORIGIN, &own, &adoptions, 10);
    assert_eq!(
        f.panels.len(),
        1,
        "the originating school's own measure is in Measures"
    );
    assert!(f.several_measures());
    assert!(f.panels[0].pooled.is_none());
}

#[test]
fn names_are_escaped() {
    let own = [measure("<b>x</b>", Unit::Percent, 1.0, 2.0, 10)];
    let adoptions = [adoption(
        1,
        "a",
        "adopted",
        None,
        vec![measure("<B>X</B>", Unit::Percent, 1.0, 3.0, 10)],
    )];
    let svg = &build(&ORIGIN, &own, &adoptions, 10).panels[0].svg;
    assert!(
        !svg.contains("<b>") && svg.contains("&lt;b&gt;x&lt;/b&gt;"),
        "{svg}"
    );
    assert!(svg.contains("outcome not yet reported"));
}
