//! School profiles at `/admin`: one form per school (bands only, every part optional), for
//! "schools like mine". Administrators edit them, as they manage the rest of the network.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::SignedIn;
use crate::domain::profile::PROFILE_FIELDS;
use crate::domain::{EnrolmentBand, NcesLocale, SchoolProfile, ShareBand, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::ProfiledSchool;

/// One choice of a profile select.
pub struct BandOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One select of a school's profile form.
pub struct ProfileField {
    pub name: &'static str,
    pub label: &'static str,
    pub options: Vec<BandOption>,
    pub error: Option<String>,
}

/// A school's profile form.
pub struct ProfileForm {
    pub slug: String,
    pub name: String,
    pub district: String,
    /// "Middle, suburban": what the profile must agree with.
    pub kind: String,
    pub fields: Vec<ProfileField>,
    /// A problem with the form as a whole (it was not saved).
    pub error: Option<String>,
}

fn label_of(field: &str) -> &'static str {
    match field {
        "nces_locale" => "NCES locale",
        "enrolment" => "Enrolment",
        "economically_disadvantaged" => "Economically disadvantaged students",
        "english_learners" => "English learners",
        _ => "Students with disabilities",
    }
}

fn choices(field: &str) -> Vec<(String, String)> {
    fn of<V: Vocabulary>(label: impl Fn(V) -> String) -> Vec<(String, String)> {
        V::ALL
            .iter()
            .map(|v| (v.as_str().to_string(), label(*v)))
            .collect()
    }
    match field {
        "nces_locale" => of::<NcesLocale>(|n| format!("{} ({})", n.label(), n.code())),
        "enrolment" => of::<EnrolmentBand>(|e| e.label().to_string()),
        _ => of::<ShareBand>(|b| format!("{} of students", b.label())),
    }
}

impl ProfileForm {
    /// The form of `school` showing `values` (field → value as sent; a school's own
    /// profile when it is shown afresh), with `errors` beside their fields.
    pub fn new(
        school: &ProfiledSchool,
        values: &HashMap<String, String>,
        errors: &HashMap<&'static str, String>,
    ) -> ProfileForm {
        let t = &school.traits;
        let fields = PROFILE_FIELDS
            .iter()
            .map(|field| {
                let current = values.get(*field).map(String::as_str).unwrap_or("");
                let mut options = vec![BandOption {
                    value: String::new(),
                    label: "not given".into(),
                    selected: current.is_empty(),
                }];
                let listed = choices(field);
                let known = listed.iter().any(|(v, _)| v == current);
                options.extend(listed.into_iter().map(|(value, label)| BandOption {
                    selected: value == current,
                    value,
                    label,
                }));
                // What was sent stays on the form, even when it is not a choice.
                if !known && !current.is_empty() {
                    options.push(BandOption {
                        value: current.to_string(),
                        label: format!("{current} (not valid)"),
                        selected: true,
                    });
                }
                ProfileField {
                    name: field,
                    label: label_of(field),
                    options,
                    error: errors.get(field).cloned(),
                }
            })
            .collect();
        ProfileForm {
            slug: t.slug.clone(),
            name: t.name.clone(),
            district: school.district_name.clone(),
            kind: format!("{}, {}", t.level.label(), t.locale.label().to_lowercase()),
            fields,
            error: (!errors.is_empty())
                .then(|| "Not saved: correct the fields marked below.".to_string()),
        }
    }

    /// A school's form showing its stored profile.
    pub fn stored(school: &ProfiledSchool) -> ProfileForm {
        let values = school
            .traits
            .profile
            .parts()
            .into_iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect();
        ProfileForm::new(school, &values, &HashMap::new())
    }
}

/// Reads a profile from the form's fields: the profile, or each problem by its field.
fn read(
    values: &HashMap<String, String>,
    school: &ProfiledSchool,
) -> Result<SchoolProfile, HashMap<&'static str, String>> {
    let mut errors = HashMap::new();
    let get = |f: &str| values.get(f).map(String::as_str).filter(|v| !v.is_empty());
    fn band<V: Vocabulary>(
        field: &'static str,
        value: Option<&str>,
        errors: &mut HashMap<&'static str, String>,
    ) -> Option<V> {
        value.and_then(|v| V::parse(v).map_err(|e| errors.insert(field, e)).ok())
    }
    let nces_locale = get("nces_locale").and_then(|v| {
        NcesLocale::parse_either(v)
            .map_err(|e| errors.insert("nces_locale", e))
            .ok()
    });
    let profile = SchoolProfile {
        nces_locale,
        enrolment: band("enrolment", get("enrolment"), &mut errors),
        economically_disadvantaged: band(
            "economically_disadvantaged",
            get("economically_disadvantaged"),
            &mut errors,
        ),
        english_learners: band("english_learners", get("english_learners"), &mut errors),
        students_with_disabilities: band(
            "students_with_disabilities",
            get("students_with_disabilities"),
            &mut errors,
        ),
    };
    if let Err(e) = profile.check_locale(school.traits.locale) {
        errors.insert("nces_locale", e);
    }
    if errors.is_empty() {
        Ok(profile)
    } else {
        Err(errors)
    }
}

/// `POST /admin/schools/{slug}/profile`: saves a school's profile, or shows the form again
/// with what was sent and each problem beside its field.
pub(super) async fn save_profile(
    State(state): State<AppState>,
    SignedIn(user, viewer): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    super::admin::require_admin(&user)?;
    let Some(school) = state.db.profiled_school(&slug).await? else {
        return Err(AppError::NotFoundMessage(format!(
            "There is no school \"{}\".",
            slug.chars().take(60).collect::<String>()
        )));
    };
    let values: HashMap<String, String> = PROFILE_FIELDS
        .iter()
        .map(|f| (f.to_string(), super::form_field(&body, f)))
        .collect();
    match read(&values, &school) {
        Ok(profile) => {
            state.db.set_school_profile(&slug, &profile).await?;
            tracing::info!(user.id = user.id, school = %slug, "school profile saved");
            Ok(Redirect::to(&format!("/admin?done=profile#profile-{slug}")).into_response())
        }
        Err(errors) => {
            let form = ProfileForm::new(&school, &values, &errors);
            let mut response = super::admin::render(&state, &viewer, None, Some(form)).await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
