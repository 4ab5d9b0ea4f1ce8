//! Checks that stages form a DAG: every `needs` names a stage, and no
//! stage depends on itself through any path.

use super::Stage;

/// Validates `needs` across `stages`; the error names the problem.
pub fn validate(stages: &[Stage]) -> Result<(), String> {
    for stage in stages {
        for need in &stage.needs {
            if need == &stage.name {
                return Err(format!("stage {:?} needs itself", stage.name));
            }
            if !stages.iter().any(|s| &s.name == need) {
                return Err(format!(
                    "stage {:?} needs unknown stage {need:?}",
                    stage.name
                ));
            }
        }
    }
    // Depth-first search with colours; a grey node reached again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let index = |name: &str| stages.iter().position(|s| s.name == name);
    let mut colour = vec![Colour::White; stages.len()];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        i: usize,
        stages: &[Stage],
        colour: &mut [Colour],
        path: &mut Vec<usize>,
        index: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<(), String> {
        colour[i] = Colour::Grey;
        path.push(i);
        for need in &stages[i].needs {
            let Some(j) = index(need) else { continue };
            match colour[j] {
                Colour::Grey => {
                    let start = path.iter().position(|&p| p == j).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[start..]
                        .iter()
                        .map(|&p| stages[p].name.as_str())
                        .collect();
                    cycle.push(stages[j].name.as_str());
                    return Err(format!("stages form a cycle: {}", cycle.join(" -> ")));
                }
                Colour::White => visit(j, stages, colour, path, index)?,
                Colour::Black => {}
            }
        }
        path.pop();
        colour[i] = Colour::Black;
        Ok(())
    }
    for i in 0..stages.len() {
        if colour[i] == Colour::White {
            visit(i, stages, &mut colour, &mut path, &index)?;
        }
    }
    Ok(())
}

/// Every stage that needs `name`, directly or through other stages.
pub fn dependents<'a>(stages: &'a [Stage], name: &str) -> Vec<&'a str> {
    let mut found: Vec<&str> = Vec::new();
    let mut frontier = vec![name.to_owned()];
    while let Some(current) = frontier.pop() {
        for stage in stages {
            if stage.needs.contains(&current) && !found.contains(&stage.name.as_str()) {
                found.push(&stage.name);
                frontier.push(stage.name.clone());
            }
        }
    }
    found
}
