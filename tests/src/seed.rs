//! Runs written straight into the app's store (Spin's SQLite layout), as
//! the app would have left them, for the benchmarks: many finished runs
//! and some unfinished ones, with the active index and the per-app run
//! summaries.

use rusqlite::params;
use serde_json::{Map, Value, json};

use crate::pipeline_env::{Env, sha};

/// Runs per summary page (as `slipway_core::runs::index::PAGE_SIZE`).
const PAGE_SIZE: u64 = 50;
/// Branches the seeded runs are spread over.
const BRANCHES: u64 = 20;

fn branch(number: u64) -> String {
    if number.is_multiple_of(BRANCHES) {
        "main".into()
    } else {
        format!("feature/{}", number % BRANCHES)
    }
}

fn stage(finished: bool, now_ms: u64) -> Value {
    json!({
        "status": if finished { "succeeded" } else { "running" }, "attempt": 1, "trigger_calls": 1,
        "started_at_ms": now_ms - 60_000, "finished_at_ms": if finished { json!(now_ms - 1_000) } else { Value::Null },
        "external_id": "http://jenkins/job/x/1/", "url": null, "reason": null, "tests": null,
        "image": null, "log_url": null, "build_duration_ms": null,
    })
}

/// Run `number` of `app` as stored: one build stage, finished or running.
pub fn run(app: &str, number: u64, finished: bool, now_ms: u64) -> Value {
    let posted = if finished {
        json!({"slipway": format!("Success: Run #{number} succeeded"),
               "slipway/unit-test": "Success: unit-test: succeeded"})
    } else {
        json!({"slipway": format!("Pending: Run #{number} is running")})
    };
    json!({
        "version": 5, "id": format!("{app}-{number}"), "app": app, "number": number,
        "status": if finished { "succeeded" } else { "running" },
        "trigger": {"provider": "github", "repo": format!("acme/{app}"), "clone_url": null,
            "git_ref": format!("refs/heads/{}", branch(number)), "commit": sha(number as u32), "kind": "push",
            "target_branch": null, "merge_request": null, "actor": "dev", "delivery_id": null},
        "pipeline": {"triggers": {"branches": ["**"], "tags": [], "paths": [], "ignore_paths": [], "merge_requests": false},
            "stages": [{"name": "unit-test", "kind": {"kind": "build", "service": "jenkins", "job": "shop/unit-test", "params": {}},
                "needs": [], "timeout_ms": 3_600_000, "retries": 0}]},
        "error": null, "stages": {"unit-test": stage(finished, now_ms)},
        "created_at_ms": now_ms - 120_000, "finished_at_ms": if finished { json!(now_ms - 1_000) } else { Value::Null },
        "transitions": [], "posted": posted, "previous_outcome": if finished { json!("none") } else { Value::Null },
    })
}

/// The list summary of [`run`] (as `slipway_core::runs::index::RunSummary`).
pub fn summary(app: &str, number: u64, finished: bool, now_ms: u64) -> Value {
    json!({
        "id": format!("{app}-{number}"), "number": number, "version": 5,
        "status": if finished { "succeeded" } else { "running" },
        "ref": format!("refs/heads/{}", branch(number)), "branch": branch(number), "kind": "push",
        "commit": sha(number as u32), "author": "dev", "created_at_ms": now_ms - 120_000,
        "finished_at_ms": if finished { json!(now_ms - 1_000) } else { Value::Null },
        "duration_ms": if finished { json!(119_000) } else { Value::Null },
        "stages": [{"name": "unit-test", "status": if finished { "succeeded" } else { "running" },
            "attempt": 1, "duration_ms": if finished { json!(59_000) } else { Value::Null }}],
    })
}

/// Writes `finished` finished runs of `app` and `active` unfinished ones
/// (the newest), the active index as the tick leaves it, and the run
/// summaries as the app keeps them.
pub fn seed(env: &Env, app: &str, finished: u64, active: u64) {
    let now_ms = crate::fakes::now_millis();
    let total = finished + active;
    let mut db = rusqlite::Connection::open(env.dir.join(".spin/sqlite_key_value.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut put = tx
            .prepare("INSERT OR REPLACE INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)")
            .unwrap();
        let mut page = Map::new();
        let mut heads = Map::new();
        for n in 1..=total {
            let done = n <= finished;
            let record = run(app, n, done, now_ms);
            put.execute(params![
                format!("run/{app}/{n}"),
                serde_json::to_vec(&record).unwrap()
            ])
            .unwrap();
            let s = summary(app, n, done, now_ms);
            heads.insert(s["ref"].as_str().unwrap_or_default().to_owned(), s.clone());
            page.insert(n.to_string(), s);
            if n % PAGE_SIZE == 0 || n == total {
                let key = format!("runs-index/{app}/page/{}", (n - 1) / PAGE_SIZE);
                let value = serde_json::to_vec(&json!({ "runs": page })).unwrap();
                put.execute(params![key, value]).unwrap();
                page = Map::new();
            }
        }
        let value = serde_json::to_vec(&json!({ "heads": heads })).unwrap();
        put.execute(params![format!("runs-index/{app}/branches"), value])
            .unwrap();
        put.execute(params![
            format!("app/{app}/runs"),
            (total as i64).to_le_bytes().to_vec()
        ])
        .unwrap();
        let active: Map<String, Value> = (finished + 1..=total)
            .map(|n| (n.to_string(), json!(0)))
            .collect();
        let index = json!({"watermark": total, "active": active, "missing": {}, "epoch": 0});
        put.execute(params![
            format!("active/runs/{app}"),
            serde_json::to_vec(&index).unwrap()
        ])
        .unwrap();
    }
    tx.commit().unwrap();
}
