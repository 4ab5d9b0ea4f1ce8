use super::*;

#[test]
fn a_paused_step_says_what_it_waits_for() {
    let held = Strategy::Canary {
        steps: vec![25, 100],
        hold_ms: Some(300_000),
    };
    assert_eq!(
        paused_message(&held, 0, 25),
        "canary step 1 at 25%: held 5m before the next step (promote goes on now)"
    );
    let manual = Strategy::Canary {
        steps: vec![25, 100],
        hold_ms: None,
    };
    assert_eq!(
        paused_message(&manual, 1, 100),
        "canary step 2 at 100%: waiting for promote"
    );
}
