//! Taking stages out of a run's pipeline: what the configuration does not
//! let this run do (deploys from a merge request), with every stage that
//! depends on them, and approval stages left gating nothing.

use super::{Pipeline, StageKind};

impl Pipeline {
    /// Removes `stage`, every stage that depends on it and every approval
    /// stage that then gates nothing, noting why in [`Pipeline::withheld`].
    /// The rest still forms a valid graph: nothing left needs a removed
    /// stage.
    pub fn withhold(&mut self, stage: &str, reason: &str) {
        if self.stage(stage).is_none() {
            return;
        }
        let mut gone: Vec<String> = vec![stage.to_owned()];
        gone.extend(self.dependents_of(stage).into_iter().map(str::to_owned));
        let orphaned_approvals: Vec<String> = self
            .stages
            .iter()
            .filter(|s| matches!(s.kind, StageKind::Approval { .. }))
            .filter(|s| !gone.contains(&s.name))
            .filter(|s| {
                let dependents = self.dependents_of(&s.name);
                !dependents.is_empty() && dependents.iter().all(|d| gone.iter().any(|g| g == d))
            })
            .map(|s| s.name.clone())
            .collect();
        for name in &gone {
            let why = if name == stage {
                reason.to_owned()
            } else {
                format!("needs {stage}, which is withheld")
            };
            self.withheld.insert(name.clone(), why);
        }
        for name in orphaned_approvals {
            let why = format!("gates only withheld stages ({stage})");
            self.withheld.insert(name.clone(), why);
            gone.push(name);
        }
        self.stages.retain(|s| !gone.contains(&s.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[stages.test]
kind = "build"
service = "ci"
job = "test"
[stages.image]
kind = "build"
service = "ci"
job = "image"
needs = ["test"]
[stages.to-test]
kind = "deploy"
environment = "test"
needs = ["image"]
[stages.approve]
kind = "approval"
needs = ["to-test"]
[stages.to-prod]
kind = "deploy"
environment = "production"
needs = ["approve"]
[stages.smoke]
kind = "build"
service = "ci"
job = "smoke"
needs = ["to-prod"]
[stages.preview]
kind = "deploy"
environment = "preview"
needs = ["image"]
"#;

    #[test]
    fn a_withheld_stage_takes_its_dependents_and_orphaned_approvals() {
        let mut p = Pipeline::parse(FILE).unwrap();
        p.withhold("to-prod", "merge-request runs do not deploy to production");
        let left: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(left, ["test", "image", "to-test", "preview"]);
        assert_eq!(
            p.withheld["to-prod"],
            "merge-request runs do not deploy to production"
        );
        assert!(p.withheld["smoke"].contains("to-prod"));
        assert!(p.withheld["approve"].contains("gates only"));
        // Withholding an unknown or already withheld stage changes nothing.
        let before = p.clone();
        p.withhold("to-prod", "again");
        p.withhold("nope", "x");
        assert_eq!(p, before);
        p.withhold("to-test", "no");
        let left: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(left, ["test", "image", "preview"]);
    }
}
