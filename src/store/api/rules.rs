//! The rules (automations): their definitions, their runs, and the timed ones that fall due.

use crate::automation::model::{Rule, RuleInput};
use crate::store::rules::{self, timed, DryRunEntry, Run};
use crate::store::{Millis, Result, Store};

#[derive(Clone, Copy)]
pub struct Rules<'s>(pub(super) &'s Store);

impl Rules<'_> {
    pub async fn list(self) -> Result<Vec<Rule>> {
        self.0.read(rules::list).await
    }

    pub async fn get(self, id: i64) -> Result<Rule> {
        self.0.read(move |c| rules::get(c, id)).await
    }

    pub async fn insert(self, input: RuleInput, now: Millis) -> Result<Rule> {
        self.0.write(move |c| rules::insert(c, &input, now)).await
    }

    pub async fn update(self, id: i64, input: RuleInput, now: Millis) -> Result<Rule> {
        self.0.write(move |c| rules::update(c, id, &input, now)).await
    }

    pub async fn delete(self, id: i64) -> Result<()> {
        self.0.write(move |c| rules::delete(c, id)).await
    }

    /// What a rule would have done over recent history, changing nothing.
    pub async fn dry_run(self, input: RuleInput, now: Millis) -> Result<Vec<DryRunEntry>> {
        self.0.read(move |c| rules::dry_run(c, &input, now)).await
    }

    pub async fn runs(self, rule_id: Option<i64>, skipped: bool, limit: usize) -> Result<Vec<Run>> {
        self.0.read(move |c| rules::runs(c, rule_id, skipped, limit)).await
    }

    /// Runs the timed rules for up to `limit` subjects due by `now`; says how many it decided.
    pub async fn run_due(self, now: Millis, limit: usize) -> Result<usize> {
        self.0.write(move |c| timed::run_due(c, now, limit)).await
    }
}
