//! What `copy` moves: one static spec of every table, which drives the reads, the writes,
//! the digests and the schema check.

use crate::store::sql::Kind;

/// A table the copy moves: its columns (in the order read and written) and its primary key,
/// which orders the pages and the digest.
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    pub key: &'static [&'static str],
}

const I: Kind = Kind::I64;
const F: Kind = Kind::F64;
const T: Kind = Kind::Text;
const B: Kind = Kind::Bytes;

/// Every table that holds the hub, in foreign-key order (a table after those it points at,
/// but for practices ↔ practice_revisions, whose check is deferred). Nullable columns are
/// read and written as nullable whatever their kind: the schema on each side enforces
/// `not null`, and the digest tells a null from `''` and `0`. `check_schema` refuses a
/// database with a column or table this list does not know, so nothing is left behind
/// silently when a migration adds one.
pub(super) const TABLES: &[Table] = &[
    Table {
        name: "districts",
        columns: &[("id", I), ("slug", T), ("name", T)],
        key: &["id"],
    },
    Table {
        name: "schools",
        columns: &[
            ("id", I),
            ("slug", T),
            ("name", T),
            ("district_id", I),
            ("level", T),
            ("locale", T),
            ("nces_locale", T),
            ("enrolment", T),
            ("economically_disadvantaged", T),
            ("english_learners", T),
            ("students_with_disabilities", T),
        ],
        key: &["id"],
    },
    Table {
        name: "challenge_areas",
        columns: &[
            ("id", I),
            ("slug", T),
            ("name", T),
            ("description", T),
            ("position", I),
        ],
        key: &["id"],
    },
    Table {
        name: "teams",
        columns: &[
            ("id", I),
            ("slug", T),
            ("name", T),
            ("school_id", I),
            ("cycle", T),
            ("challenge_area_id", I),
            ("aim", T),
        ],
        key: &["id"],
    },
    Table {
        name: "users",
        columns: &[
            ("id", I),
            ("email", T),
            ("name", T),
            ("role", T),
            ("district_id", I),
            ("provider", T),
            ("subject", T),
            ("created_at", T),
            ("last_seen_at", T),
            ("email_confirmed", I),
        ],
        key: &["id"],
    },
    Table {
        name: "team_members",
        columns: &[("team_id", I), ("user_id", I)],
        key: &["team_id", "user_id"],
    },
    Table {
        name: "practices",
        columns: &[
            ("id", I),
            ("slug", T),
            ("team_id", I),
            ("status", T),
            ("stage", T),
            ("published_on", T),
            ("vetted_on", T),
            ("current_revision_id", I),
            ("public_revision_id", I),
            ("created_at", T),
            ("updated_at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "practice_revisions",
        columns: &[
            ("id", I),
            ("practice_id", I),
            ("number", I),
            ("title", T),
            ("summary", T),
            ("grade_bands", T),
            ("subjects", T),
            ("tags", T),
            ("license", T),
            ("stage", T),
            ("essential_aspects", T),
            ("body_html", T),
            ("created_at", T),
            ("author_id", I),
            ("start_hours", F),
            ("weekly_hours", F),
            ("materials_cost", F),
            ("currency", T),
            ("staff_roles", T),
        ],
        key: &["id"],
    },
    Table {
        name: "revision_sections",
        columns: &[
            ("revision_id", I),
            ("kind", T),
            ("position", I),
            ("markdown", T),
        ],
        key: &["revision_id", "kind"],
    },
    Table {
        name: "revision_challenge_areas",
        columns: &[
            ("revision_id", I),
            ("challenge_area_id", I),
            ("position", I),
        ],
        key: &["revision_id", "challenge_area_id"],
    },
    Table {
        name: "resources",
        columns: &[
            ("revision_id", I),
            ("position", I),
            ("title", T),
            ("url", T),
        ],
        key: &["revision_id", "position"],
    },
    Table {
        name: "adoptions",
        columns: &[
            ("id", I),
            ("practice_id", I),
            ("team_id", I),
            ("revision_id", I),
            ("status", T),
            ("started_on", T),
            ("aspects_kept", T),
            ("adaptations", T),
            ("outcome", T),
            ("updated_at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "measures",
        columns: &[
            ("id", I),
            ("revision_id", I),
            ("adoption_id", I),
            ("position", I),
            ("name", T),
            ("ingredient", T),
            ("unit", T),
            ("instrument", T),
            ("baseline", F),
            ("result", F),
            ("n", I),
            ("period", T),
            ("design", T),
            ("better", T),
            ("comparison_baseline", F),
            ("comparison_result", F),
            ("comparison_n", I),
            ("p_value", F),
        ],
        key: &["id"],
    },
    Table {
        name: "adoption_history",
        columns: &[
            ("id", I),
            ("adoption_id", I),
            ("user_id", I),
            ("snapshot", T),
            ("at", T),
        ],
        key: &["id"],
    },
    // Members-only conversation: questions to a practice's team, and their answers.
    Table {
        name: "questions",
        columns: &[
            ("id", I),
            ("practice_id", I),
            ("user_id", I),
            ("author_name", T),
            ("team_id", I),
            ("body", T),
            ("asked_at", T),
            ("hidden", I),
            ("hidden_by", I),
        ],
        key: &["id"],
    },
    Table {
        name: "answers",
        columns: &[
            ("id", I),
            ("question_id", I),
            ("user_id", I),
            ("author_name", T),
            ("team_id", I),
            ("body", T),
            ("answered_at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "reviews",
        columns: &[
            ("id", I),
            ("practice_id", I),
            ("revision_id", I),
            ("reviewer_id", I),
            ("decision", T),
            ("comment", T),
            ("rubric", T),
            ("at", T),
            ("essa_tier", I),
        ],
        key: &["id"],
    },
    Table {
        name: "practice_events",
        columns: &[
            ("id", I),
            ("practice_id", I),
            ("revision_id", I),
            ("kind", T),
            ("user_id", I),
            ("at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "plc_sessions",
        columns: &[
            ("id", I),
            ("quarter", T),
            ("held_on", T),
            ("notes", T),
            ("opened_by", I),
            ("created_at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "plc_decisions",
        columns: &[
            ("id", I),
            ("session_id", I),
            ("agenda", T),
            ("decision", T),
            ("author_id", I),
            ("at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "search_log",
        columns: &[
            ("id", I),
            ("query", T),
            ("filters", T),
            ("results", I),
            ("took_ms", F),
            ("at", T),
        ],
        key: &["id"],
    },
    Table {
        name: "notifications_off",
        columns: &[("user_id", I), ("kind", T)],
        key: &["user_id", "kind"],
    },
    Table {
        name: "subscriptions",
        columns: &[
            ("id", I),
            ("user_id", I),
            ("target", T),
            ("value", T),
            ("label", T),
            ("delivery", T),
            ("created_at", I),
        ],
        key: &["id"],
    },
    // Endpoints keep their secrets: receivers go on verifying deliveries from the target.
    Table {
        name: "webhooks",
        columns: &[
            ("id", I),
            ("url", T),
            ("secret", T),
            ("events", T),
            ("district_id", I),
            ("challenge_area_id", I),
            ("active", I),
            ("created_at", I),
            ("created_by", I),
        ],
        key: &["id"],
    },
    // Pending messages go out from the target; sent ones stay as the record of what went.
    Table {
        name: "outbox",
        columns: &[
            ("id", I),
            ("dedupe", T),
            ("user_id", I),
            ("to_addr", T),
            ("kind", T),
            ("subject", T),
            ("body_text", T),
            ("body_html", T),
            ("unsubscribe", T),
            ("state", T),
            ("attempts", I),
            ("run_after", I),
            ("created_at", I),
            ("sent_at", I),
            ("last_error", T),
            ("channel", T),
            ("webhook_id", I),
        ],
        key: &["id"],
    },
    // Uploaded images and handouts, and the practices they belong to.
    Table {
        name: "files",
        columns: &[
            ("sha256", T),
            ("content_type", T),
            ("size", I),
            ("content", B),
            ("created_at", T),
        ],
        key: &["sha256"],
    },
    Table {
        name: "practice_files",
        columns: &[
            ("practice_id", I),
            ("sha256", T),
            ("name", T),
            ("uploaded_by", I),
            ("created_at", T),
        ],
        key: &["practice_id", "sha256"],
    },
    // Unsubscribe links already sent keep working on the target.
    Table {
        name: "hub_keys",
        columns: &[("name", T), ("value", T)],
        key: &["name"],
    },
    // API tokens handed out keep working on the target (only their hashes are copied).
    Table {
        name: "api_tokens",
        columns: &[
            ("id", I),
            ("user_id", I),
            ("name", T),
            ("hash", T),
            ("prefix", T),
            ("scopes", T),
            ("created_at", I),
            ("expires_at", I),
            ("last_used_at", I),
            ("revoked_at", I),
        ],
        key: &["id"],
    },
    // Last, and only when asked: signed-in people stay signed in on the target.
    Table {
        name: "sessions",
        columns: &[
            ("id_hash", T),
            ("user_id", I),
            ("csrf_token", T),
            ("created_at", I),
            ("last_seen_at", I),
        ],
        key: &["id_hash"],
    },
];

/// Tables the copy leaves behind: sign-ins in flight last minutes; `changes` is the search
/// index's feed, and every instance on the target builds its own index; `jobs` are recreated
/// at start; `_sqlx_migrations` is each engine's own.
pub(super) const NOT_COPIED: &[&str] = &["login_attempts", "changes", "jobs", "_sqlx_migrations"];
