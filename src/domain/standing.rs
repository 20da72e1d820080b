//! Where a practice stands, as its team and the quarterly review read it: a vetted practice
//! whose team is editing it is two things at once — public (its vetted revision) and in
//! progress (the edit) — and the stored status names only the second.

use super::{Status, Vocabulary};

/// The status readers see and, for a vetted practice being edited, where the edit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub status: Status,
    /// The status of a newer revision waiting behind the public one.
    pub pending_edit: Option<Status>,
}

impl Standing {
    /// From the stored status and whether a vetted revision is public.
    pub fn of(status: Status, has_public: bool) -> Standing {
        match status {
            Status::Draft | Status::Submitted | Status::Returned if has_public => Standing {
                status: Status::Vetted,
                pending_edit: Some(status),
            },
            _ => Standing {
                status,
                pending_edit: None,
            },
        }
    }

    /// For people: "Vetted · edit in draft".
    pub fn label(&self) -> String {
        match self.pending_edit {
            None => self.status.label().to_string(),
            Some(edit) => format!(
                "{} · edit {}",
                self.status.label(),
                match edit {
                    Status::Submitted => "submitted for review",
                    Status::Returned => "returned with comments",
                    _ => "in draft",
                }
            ),
        }
    }

    /// The pending edit's status as a file spells it ("draft"), or "".
    pub fn pending_key(&self) -> &'static str {
        self.pending_edit.map_or("", |s| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_of_a_public_practice_keeps_it_vetted() {
        let s = Standing::of(Status::Draft, true);
        assert_eq!(
            (s.status, s.label().as_str(), s.pending_key()),
            (Status::Vetted, "Vetted · edit in draft", "draft")
        );
        let s = Standing::of(Status::Draft, false);
        assert_eq!((s.label().as_str(), s.pending_key()), ("Draft", ""));
        assert_eq!(Standing::of(Status::Archived, true).pending_edit, None);
    }
}
