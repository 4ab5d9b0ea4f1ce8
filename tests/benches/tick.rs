//! Benchmark: `POST /api/tick` with 100 unfinished runs among 1,000 and
//! among 100,000 finished ones, on the real components. The tick walks
//! the active index, not the history, so the two times should be close
//! (the ratio near 1).
//!
//! The store is seeded directly (Spin's SQLite layout) with runs as the
//! app writes them. Run: `scripts/bench.sh`; `BENCH_TICKS` (default 20).

use std::time::Instant;

use rusqlite::params;
use serde_json::{Value, json};
use slipway_tests::pipeline_env::{Env, sha};

const APP: &str = "shop-github";
const ACTIVE: u64 = 100;

fn run(number: u64, finished: bool, now_ms: u64) -> Value {
    let stage = if finished {
        json!({"status": "succeeded", "attempt": 1, "trigger_calls": 1, "started_at_ms": now_ms - 60_000,
               "finished_at_ms": now_ms - 1_000, "external_id": "http://jenkins/job/x/1/", "url": null,
               "reason": null, "tests": null, "image": null, "log_url": null, "build_duration_ms": null})
    } else {
        json!({"status": "running", "attempt": 1, "trigger_calls": 1, "started_at_ms": now_ms,
               "finished_at_ms": null, "external_id": "http://jenkins/job/x/1/", "url": null,
               "reason": null, "tests": null, "image": null, "log_url": null, "build_duration_ms": null})
    };
    let status = if finished { "succeeded" } else { "running" };
    let posted = if finished {
        json!({"slipway": format!("Success: Run #{number} succeeded"),
               "slipway/unit-test": "Success: unit-test: succeeded"})
    } else {
        json!({"slipway": format!("Pending: Run #{number} is running")})
    };
    json!({
        "version": 5, "id": format!("{APP}-{number}"), "app": APP, "number": number, "status": status,
        "trigger": {"provider": "github", "repo": "acme/shop-github", "clone_url": null,
            "git_ref": "refs/heads/main", "commit": sha(number as u32), "kind": "push",
            "target_branch": null, "merge_request": null, "actor": "dev", "delivery_id": null},
        "pipeline": {"triggers": {"branches": ["**"], "tags": [], "paths": [], "ignore_paths": [], "merge_requests": false},
            "stages": [{"name": "unit-test", "kind": {"kind": "build", "service": "jenkins", "job": "shop/unit-test", "params": {}},
                "needs": [], "timeout_ms": 3_600_000, "retries": 0}]},
        "error": null, "stages": {"unit-test": stage},
        "created_at_ms": now_ms - 120_000, "finished_at_ms": if finished { json!(now_ms - 1_000) } else { Value::Null },
        "transitions": [], "posted": posted, "previous_outcome": if finished { json!("none") } else { Value::Null },
    })
}

/// Writes `finished` finished runs and [`ACTIVE`] unfinished ones (the
/// newest), with the index as the tick would have left it.
fn seed(env: &Env, finished: u64) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let total = finished + ACTIVE;
    let mut db = rusqlite::Connection::open(env.dir.join(".spin/sqlite_key_value.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut put = tx
            .prepare("INSERT OR REPLACE INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)")
            .unwrap();
        for n in 1..=total {
            let record = run(n, n <= finished, now_ms);
            put.execute(params![
                format!("run/{APP}/{n}"),
                serde_json::to_vec(&record).unwrap()
            ])
            .unwrap();
        }
        put.execute(params![
            format!("app/{APP}/runs"),
            (total as i64).to_le_bytes().to_vec()
        ])
        .unwrap();
        let active: serde_json::Map<String, Value> = (finished + 1..=total)
            .map(|n| (n.to_string(), json!(0)))
            .collect();
        let index = json!({"watermark": total, "active": active, "missing": {}, "epoch": 0});
        put.execute(params![
            format!("active/runs/{APP}"),
            serde_json::to_vec(&index).unwrap()
        ])
        .unwrap();
    }
    tx.commit().unwrap();
}

fn main() {
    let ticks: usize = std::env::var("BENCH_TICKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut means = Vec::new();
    for finished in [1_000u64, 100_000] {
        let env = Env::start("");
        let seeding = Instant::now();
        seed(&env, finished);
        let seeded_in = seeding.elapsed();
        let warm = env.tick();
        assert_eq!(warm["active"].as_u64(), Some(ACTIVE), "{warm}");
        let mut times: Vec<f64> = (0..ticks)
            .map(|_| {
                let t = Instant::now();
                let report = env.tick();
                assert_eq!(report["more"], false, "{report}");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        means.push(mean);
        println!(
            "tick, {ACTIVE} active among {finished:>6} finished runs: mean {mean:>7.1} ms  p50 {:>7.1} ms  max {:>7.1} ms  ({ticks} ticks; seeded in {:.1} s)",
            times[times.len() / 2],
            times[times.len() - 1],
            seeded_in.as_secs_f64()
        );
    }
    println!(
        "tick time ratio, 100,000 / 1,000 finished runs: {:.2}",
        means[1] / means[0]
    );
}
