//! What a change does to the pipeline: the stages a merge request's
//! pipeline file adds, drops and changes against its target branch's, for
//! a commit status and for `POST /api/dry-run`.

use serde::{Deserialize, Serialize};

use super::{Pipeline, Stage};

/// Stages added, dropped and changed, by name, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineChange {
    /// In the change's file, not in the base's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// In the base's file, not in the change's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
    /// In both, defined differently (what it does, what it needs, its
    /// timeout or retries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl PipelineChange {
    /// Compares `head` (as a run of the change holds it: stages it may not
    /// run are withheld, by name) with `base`, the target branch's file.
    /// A withheld stage counts as present; its definition is not compared.
    pub fn between(head: &Pipeline, base: &Pipeline) -> PipelineChange {
        let in_head = |name: &str| head.stage(name).is_some() || head.withheld.contains_key(name);
        let in_base = |name: &str| base.stage(name).is_some() || base.withheld.contains_key(name);
        let added = head
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .chain(head.withheld.keys().map(String::as_str))
            .filter(|n| !in_base(n))
            .map(str::to_owned)
            .collect();
        let dropped = base
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .chain(base.withheld.keys().map(String::as_str))
            .filter(|n| !in_head(n))
            .map(str::to_owned)
            .collect();
        let changed = head
            .stages
            .iter()
            .filter_map(|s| Some((s, base.stage(&s.name)?)))
            .filter(|(h, b)| !same_definition(h, b))
            .map(|(h, _)| h.name.clone())
            .collect();
        PipelineChange {
            added,
            dropped,
            changed,
        }
    }

    /// Every stage of `head` is new: the base has no pipeline file.
    pub fn all_added(head: &Pipeline) -> PipelineChange {
        PipelineChange {
            added: head
                .stages
                .iter()
                .map(|s| s.name.clone())
                .chain(head.withheld.keys().cloned())
                .collect(),
            ..PipelineChange::default()
        }
    }

    /// Whether the change leaves the stages as they were.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.dropped.is_empty() && self.changed.is_empty()
    }

    /// One line for people: `adds stage a; drops stages b, c; changes stage d`,
    /// or `no stage added, dropped or changed`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            ("adds", &self.added),
            ("drops", &self.dropped),
            ("changes", &self.changed),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(verb, names)| {
            let noun = if names.len() == 1 { "stage" } else { "stages" };
            format!("{verb} {noun} {}", names.join(", "))
        })
        .collect();
        if parts.is_empty() {
            "no stage added, dropped or changed".into()
        } else {
            parts.join("; ")
        }
    }
}

fn same_definition(a: &Stage, b: &Stage) -> bool {
    a.kind == b.kind && a.needs == b.needs && a.timeout_ms == b.timeout_ms && a.retries == b.retries
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[stages.test]
kind = "build"
service = "ci"
job = "test"
[stages.lint]
kind = "build"
service = "ci"
job = "lint"
[stages.prod]
kind = "deploy"
environment = "production"
needs = ["test"]
"#;

    fn parse(text: &str) -> Pipeline {
        Pipeline::parse(text).expect("pipeline")
    }

    #[test]
    fn added_dropped_and_changed_stages_are_named_in_file_order() {
        let head = parse(
            r#"
[stages.test]
kind = "build"
service = "ci"
job = "test-all"
[stages.image]
kind = "build"
service = "ci"
job = "image"
needs = ["test"]
[stages.prod]
kind = "deploy"
environment = "production"
needs = ["test"]
"#,
        );
        let change = PipelineChange::between(&head, &parse(BASE));
        assert_eq!(change.added, ["image"]);
        assert_eq!(change.dropped, ["lint"]);
        assert_eq!(change.changed, ["test"]);
        assert_eq!(
            change.summary(),
            "adds stage image; drops stage lint; changes stage test"
        );
    }

    #[test]
    fn a_withheld_stage_is_neither_added_nor_dropped() {
        let mut head = parse(BASE);
        head.withhold("prod", "merge-request runs do not deploy to production");
        let change = PipelineChange::between(&head, &parse(BASE));
        assert!(change.is_empty(), "{change:?}");
        assert_eq!(change.summary(), "no stage added, dropped or changed");
    }

    #[test]
    fn without_a_base_file_every_stage_is_added() {
        let change = PipelineChange::all_added(&parse(BASE));
        assert_eq!(change.summary(), "adds stages test, lint, prod");
    }
}
