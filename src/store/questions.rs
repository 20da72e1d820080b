//! Questions to a practice's team and their answers: members-only, never in the search
//! index, feeds or API (so no `changes` row: nothing derived shows them), hidden by the
//! originating team or a coach.

use std::collections::HashMap;

use sqlx::FromRow;
use tracing::instrument;

use super::sql::{Arg, query, query_as, query_scalar};
use super::{Conn, Db};
use crate::content::{AnswerDoc, QuestionDoc};
use crate::domain::Slug;
use crate::domain::question::{QuestionText, Voice};

/// A question as the practice page shows it, with its answers.
#[derive(Debug, Clone, FromRow)]
pub struct QuestionView {
    pub id: i64,
    pub user_id: Option<i64>,
    pub author_name: String,
    pub team_name: Option<String>,
    pub body: String,
    pub asked_at: String,
    pub hidden: bool,
    #[sqlx(skip)]
    pub answers: Vec<AnswerView>,
}

/// An answer, marked by whom it speaks for.
#[derive(Debug, Clone)]
pub struct AnswerView {
    pub id: i64,
    pub author_name: String,
    pub team_name: Option<String>,
    pub body: String,
    pub answered_at: String,
    pub voice: Voice,
}

#[derive(FromRow)]
struct AnswerRow {
    id: i64,
    question_id: i64,
    author_name: String,
    team_name: Option<String>,
    body: String,
    answered_at: String,
    voice: String,
}

/// What the routes of one question need to decide who may act on it.
#[derive(Debug, Clone, FromRow)]
pub struct QuestionTarget {
    pub id: i64,
    pub practice_id: i64,
    pub practice_slug: String,
    pub hidden: bool,
}

/// What a notice of a question or an answer says, and to whom.
#[derive(Debug, Clone, FromRow)]
pub struct QuestionFacts {
    pub question_id: i64,
    pub practice_id: i64,
    pub slug: String,
    pub title: String,
    /// The practice's (originating) team.
    pub team_id: i64,
    pub hidden: bool,
    /// Who asked (on this hub), and the name shown.
    pub asker_id: Option<i64>,
    pub asker_name: String,
    pub question: String,
}

/// An answer's question, who answered (on this hub, and the name shown) and what.
#[derive(Debug, Clone)]
pub struct AnswerFacts {
    pub question: QuestionFacts,
    pub answerer_id: Option<i64>,
    pub answerer_name: String,
    pub text: String,
}

/// The voice of an answer's team: `a` is the answer, `p` its practice.
const VOICE: &str = r#"case when a.team_id = p.team_id then 'originating'
         when exists (select 1 from adoptions ad where ad.practice_id = p.id and ad.team_id = a.team_id)
           then 'adopting'
         else 'member' end"#;

fn voice(key: &str) -> Voice {
    match key {
        "originating" => Voice::OriginatingTeam,
        "adopting" => Voice::AdoptingTeam,
        _ => Voice::Member,
    }
}

/// A timestamp for a date of `questions.toml` (midnight UTC), and back.
fn at_date(d: time::Date) -> String {
    format!("{d}T00:00:00Z")
}

fn date_of(at: &str) -> anyhow::Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = at.get(..10).unwrap_or(at);
    time::Date::parse(day, format).map_err(|e| anyhow::anyhow!("stored date {at:?}: {e}"))
}

impl Db {
    /// The questions on practice `practice_id`, oldest first, each with its answers; hidden
    /// ones only when `with_hidden` (for the originating team and the coaches).
    pub async fn questions_of(
        &self,
        practice_id: i64,
        with_hidden: bool,
    ) -> sqlx::Result<Vec<QuestionView>> {
        let mut questions: Vec<QuestionView> = query_as(
            r#"select q.id, q.user_id, q.author_name, t.name as team_name, q.body, q.asked_at,
                      q.hidden <> 0 as hidden
               from questions q left join teams t on t.id = q.team_id
               where q.practice_id = $1 and ($2 or q.hidden = 0)
               order by q.asked_at, q.id"#,
        )
        .bind(practice_id)
        .bind(with_hidden)
        .fetch_all(&self.read)
        .await?;
        let ids: Vec<i64> = questions.iter().map(|q| q.id).collect();
        let mut answers: HashMap<i64, Vec<AnswerView>> = HashMap::new();
        let rows: Vec<AnswerRow> = query_as(format!(
            r#"select a.id, a.question_id, a.author_name, t.name as team_name, a.body, a.answered_at,
                      {VOICE} as voice
               from answers a join questions q on q.id = a.question_id
               join practices p on p.id = q.practice_id
               left join teams t on t.id = a.team_id
               where {} order by a.answered_at, a.id"#,
            self.dialect().in_list("a.question_id", "$1")
        ))
        .bind(Arg::ids(&ids))
        .fetch_all(&self.read)
        .await?;
        for a in rows {
            answers.entry(a.question_id).or_default().push(AnswerView {
                id: a.id,
                author_name: a.author_name,
                team_name: a.team_name,
                body: a.body,
                answered_at: a.answered_at,
                voice: voice(&a.voice),
            });
        }
        for q in &mut questions {
            q.answers = answers.remove(&q.id).unwrap_or_default();
        }
        Ok(questions)
    }

    /// Question `id`, if it is on practice `slug`.
    pub async fn question_target(
        &self,
        slug: &str,
        id: i64,
    ) -> sqlx::Result<Option<QuestionTarget>> {
        query_as(
            r#"select q.id, q.practice_id, p.slug as practice_slug, q.hidden <> 0 as hidden
               from questions q join practices p on p.id = q.practice_id
               where q.id = $1 and p.slug = $2"#,
        )
        .bind(id)
        .bind(slug)
        .fetch_optional(&self.read)
        .await
    }

    /// The teams that adopted practice `practice_id` (any status).
    pub async fn adopting_team_ids(&self, practice_id: i64) -> sqlx::Result<Vec<i64>> {
        query_scalar("select team_id from adoptions where practice_id = $1 order by team_id")
            .bind(practice_id)
            .fetch_all(&self.read)
            .await
    }

    /// Stores a question by `user_id` (shown as `name`, asking as `team_id`) and schedules
    /// its notice in the same transaction. Returns its id.
    #[instrument(skip_all, fields(practice.id = practice_id))]
    pub async fn ask_question(
        &self,
        practice_id: i64,
        user_id: i64,
        name: &str,
        team_id: Option<i64>,
        text: &QuestionText,
    ) -> anyhow::Result<i64> {
        let author = (user_id, name, team_id);
        self.post(Post::Question, practice_id, author, text).await
    }

    /// Stores an answer to question `question_id` and schedules the asker's notice.
    #[instrument(skip_all, fields(question.id = question_id))]
    pub async fn answer_question(
        &self,
        question_id: i64,
        user_id: i64,
        name: &str,
        team_id: Option<i64>,
        text: &QuestionText,
    ) -> anyhow::Result<i64> {
        let author = (user_id, name, team_id);
        self.post(Post::Answer, question_id, author, text).await
    }

    /// Writes a question (under practice `parent`) or an answer (under question `parent`)
    /// and schedules its notice in the same transaction.
    async fn post(
        &self,
        kind: Post,
        parent: i64,
        (user_id, name, team_id): (i64, &str, Option<i64>),
        text: &QuestionText,
    ) -> anyhow::Result<i64> {
        let (table, parent_column, job) = match kind {
            Post::Question => ("questions", "practice_id", "question"),
            Post::Answer => ("answers", "question_id", "answer"),
        };
        let mut tx = self.begin_write().await?;
        let id: i64 = query_scalar(format!(
            r#"insert into {table} ({parent_column}, user_id, author_name, team_id, body)
               values ($1, $2, $3, $4, $5) returning id"#
        ))
        .bind(parent)
        .bind(user_id)
        .bind(name)
        .bind(team_id)
        .bind(text.as_str())
        .fetch_one(&mut tx)
        .await?;
        super::schedule_in(&mut tx, crate::notify::JOB, &format!("{job}:{id}"), "{}").await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Hides or shows question `id` again.
    #[instrument(skip_all, fields(question.id = id, hidden))]
    pub async fn set_question_hidden(&self, id: i64, hidden: bool, by: i64) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query(
            "update questions set hidden = $1, hidden_by = case when $2 then $3 end where id = $4",
        )
        .bind(i64::from(hidden))
        .bind(hidden)
        .bind(by)
        .bind(id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the notice of question `id` needs.
    pub async fn question_facts(&self, id: i64) -> sqlx::Result<Option<QuestionFacts>> {
        query_as(
            r#"select q.id as question_id, p.id as practice_id, p.slug, r.title, p.team_id,
                      q.hidden <> 0 as hidden, q.user_id as asker_id, q.author_name as asker_name,
                      q.body as question
               from questions q join practices p on p.id = q.practice_id
               join practice_revisions r on r.id = coalesce(p.public_revision_id, p.current_revision_id)
               where q.id = $1"#,
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
    }

    /// What the notice of answer `id` needs.
    pub async fn answer_facts(&self, id: i64) -> sqlx::Result<Option<AnswerFacts>> {
        let row: Option<(i64, Option<i64>, String, String)> =
            query_as("select question_id, user_id, author_name, body from answers where id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let Some((question, user, name, body)) = row else {
            return Ok(None);
        };
        Ok(self
            .question_facts(question)
            .await?
            .map(|question| AnswerFacts {
                question,
                answerer_id: user,
                answerer_name: name,
                text: body,
            }))
    }
}

/// Writes the questions of a catalog: each is found by its practice, day, asker and text
/// (an import run twice adds nothing), its hidden flag follows the file, and answers not
/// there yet are added. Nothing is deleted: questions asked on the hub stay. `ids` are the
/// practices' ids by slug.
pub(crate) async fn import_questions(
    tx: &mut Conn,
    ids: &HashMap<Slug, i64>,
    questions: &[QuestionDoc],
) -> anyhow::Result<usize> {
    for q in questions {
        let practice_id = match ids.get(&q.practice) {
            Some(id) => *id,
            // A catalog imported without this practice (checked catalogs always have it).
            None => query_scalar("select id from practices where slug = $1")
                .bind(q.practice.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| anyhow::anyhow!("questions.toml: no practice {}", q.practice))?,
        };
        let asked_at = at_date(q.asked_on);
        let existing: Option<i64> = query_scalar(
            r#"select id from questions where practice_id = $1 and substr(asked_at, 1, 10) = $2
                 and author_name = $3 and body = $4 order by id limit 1"#,
        )
        .bind(practice_id)
        .bind(&asked_at[..10])
        .bind(&q.asked_by)
        .bind(&q.text)
        .fetch_optional(&mut *tx)
        .await?;
        let question_id = match existing {
            Some(id) => {
                query("update questions set hidden = $1 where id = $2")
                    .bind(i64::from(q.hidden))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => query_scalar(
                r#"insert into questions (practice_id, author_name, team_id, body, asked_at, hidden)
                       values ($1, $2, (select id from teams where slug = $3), $4, $5, $6)
                       returning id"#,
            )
            .bind(practice_id)
            .bind(&q.asked_by)
            .bind(q.team.as_ref().map(Slug::as_str))
            .bind(&q.text)
            .bind(&asked_at)
            .bind(i64::from(q.hidden))
            .fetch_one(&mut *tx)
            .await?,
        };
        for a in &q.answers {
            let answered_at = at_date(a.answered_on);
            let there: i64 = query_scalar(
                r#"select count(*) from answers where question_id = $1
                     and substr(answered_at, 1, 10) = $2 and author_name = $3 and body = $4"#,
            )
            .bind(question_id)
            .bind(&answered_at[..10])
            .bind(&a.answered_by)
            .bind(&a.text)
            .fetch_one(&mut *tx)
            .await?;
            if there == 0 {
                query(
                    r#"insert into answers (question_id, author_name, team_id, body, answered_at)
                       values ($1, $2, (select id from teams where slug = $3), $4, $5)"#,
                )
                .bind(question_id)
                .bind(&a.answered_by)
                .bind(a.team.as_ref().map(Slug::as_str))
                .bind(&a.text)
                .bind(&answered_at)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(questions.len())
}

#[derive(FromRow)]
struct ExportRow {
    id: i64,
    practice: String,
    author_name: String,
    team: Option<String>,
    asked_at: String,
    body: String,
    hidden: bool,
}

/// Every question and answer, in the shape of `questions.toml`: by practice, then as asked.
pub(crate) async fn export_questions(conn: &mut Conn) -> anyhow::Result<Vec<QuestionDoc>> {
    let rows: Vec<ExportRow> = query_as(
        r#"select q.id, p.slug as practice, q.author_name, t.slug as team, q.asked_at, q.body,
                  q.hidden <> 0 as hidden
           from questions q join practices p on p.id = q.practice_id
           left join teams t on t.id = q.team_id
           order by p.slug, q.asked_at, q.id"#,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut answers: HashMap<i64, Vec<AnswerDoc>> = HashMap::new();
    for (question, name, team, at, body) in
        query_as::<(i64, String, Option<String>, String, String)>(
            r#"select a.question_id, a.author_name, t.slug, a.answered_at, a.body
           from answers a left join teams t on t.id = a.team_id
           order by a.question_id, a.answered_at, a.id"#,
        )
        .fetch_all(&mut *conn)
        .await?
    {
        answers.entry(question).or_default().push(AnswerDoc {
            answered_by: name,
            team: team
                .map(|t| Slug::parse(&t))
                .transpose()
                .map_err(anyhow::Error::msg)?,
            answered_on: date_of(&at)?,
            text: body,
        });
    }
    rows.into_iter()
        .map(|q| {
            Ok(QuestionDoc {
                practice: Slug::parse(&q.practice).map_err(anyhow::Error::msg)?,
                asked_by: q.author_name,
                team: q
                    .team
                    .map(|t| Slug::parse(&t))
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
                asked_on: date_of(&q.asked_at)?,
                text: q.body,
                hidden: q.hidden,
                answers: answers.remove(&q.id).unwrap_or_default(),
            })
        })
        .collect()
}

/// What `post` writes.
enum Post {
    Question,
    Answer,
}
