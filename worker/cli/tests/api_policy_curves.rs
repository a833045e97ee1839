//! `GET /v1/policy` draws each class's retry curve exactly as `tenax_policies` computes
//! it, for the daemon's script, a queue's own script and the Rust defaults; the last
//! reload error carries its line; `POST /v1/policy/check` reports a draft's syntax error
//! with its line and never applies the draft.

mod support;

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, eventually};
use tenax_policies::{CompiledPolicy, CurveLimits};

const SCRIPT: &str = r#"
fn delay(class, attempt, delay_ms, error) {
    if class == "throttled" && attempt >= 3 { return "dead"; }
    delay_ms + 250
}

#{
    classes: #{
        transient: #{ base: "2s", cap: "30s", max_retries: 7, jitter: 0.3 },
        throttled: #{ base: "1m", cap: "10m", max_retries: 5, jitter: 0.0, breaker: false },
    },
}
"#;

const OTHER: &str = r#"#{ classes: #{ transient: #{ base: "9s", max_retries: 2 } } }"#;

/// Checks `shape` (a `classes` object) against the library's curves of `compiled`.
fn assert_curves(classes: &Value, compiled: &CompiledPolicy) {
    let declared: Vec<_> = compiled
        .policy()
        .classes()
        .map(|(c, _)| c.clone())
        .collect();
    assert_eq!(
        classes.as_object().map(|o| o.len()),
        Some(declared.len()),
        "{classes}"
    );
    for class in declared {
        let curve = compiled.curve(&class, CurveLimits::default());
        let view = &classes[class.as_str()];
        let retries = view["retries"].as_array().cloned().unwrap_or_default();
        assert_eq!(retries.len(), curve.points.len(), "{class}: {view}");
        for (row, point) in retries.iter().zip(&curve.points) {
            let ms = |d: Duration| d.as_millis() as u64;
            assert_eq!(row["attempt"], point.retry, "{class}");
            assert_eq!(row["nominal_ms"], ms(point.nominal), "{class}");
            assert_eq!(row["min_ms"], ms(point.delay.min), "{class}");
            assert_eq!(row["max_ms"], ms(point.delay.max), "{class}");
            assert_eq!(
                row["cumulative_max_ms"],
                ms(point.cumulative.max),
                "{class}"
            );
        }
        let total = curve.buried_after.expect("a complete curve");
        assert_eq!(
            view["buried_after"]["min_ms"],
            total.min.as_millis() as u64,
            "{class}"
        );
        assert_eq!(
            view["buried_after"]["max_ms"],
            total.max.as_millis() as u64,
            "{class}"
        );
        assert_eq!(view["max_retries"], curve.max_retries);
        assert_eq!(view["counts_toward_breaker"], curve.counts_toward_breaker);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_curves_are_the_librarys() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let main = dir.path().join("policy.rhai");
    let other = dir.path().join("other.rhai");
    std::fs::write(&main, SCRIPT)?;
    std::fs::write(&other, OTHER)?;
    let daemon = Daemon::start_in(
        dir,
        &format!(
            "policy_file = {main:?}\n[queues.default]\n[queues.slow]\npolicy_file = {other:?}\n\
             [http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n",
            main = main.display().to_string(),
            other = other.display().to_string(),
        ),
    );
    let client = support::api_client();
    let get = async |path: &str| -> Result<Value> {
        Ok(client
            .get(format!("{}{path}", daemon.url))
            .send()
            .await?
            .json()
            .await?)
    };

    let policy = get("/v1/policy").await?;
    let compiled = CompiledPolicy::load_file(&main)?;
    assert_curves(&policy["classes"], &compiled);
    assert_eq!(policy["source"], main.display().to_string());
    assert_eq!(policy["fingerprint"], compiled.fingerprint());
    assert_eq!(policy["version"], 1);
    assert_eq!(policy["last_reload_error"], Value::Null);
    // The script's `delay` shows: +250 ms, and `throttled` dies at its third failure.
    assert_eq!(
        policy["classes"]["transient"]["retries"][0]["nominal_ms"],
        2_250
    );
    assert_eq!(policy["classes"]["throttled"]["end"], "script_said_dead");
    assert_eq!(policy["classes"]["throttled"]["end_attempt"], 3);
    assert_curves(&policy["defaults"]["classes"], &CompiledPolicy::default());
    assert_eq!(policy["defaults"]["classes"]["transient"]["base_ms"], 5_000);
    assert!(
        policy["report"]["schedules"].is_array(),
        "the old report stays"
    );

    // A queue with its own script.
    let slow = get("/v1/policy?queue=slow").await?;
    assert_eq!(slow["queue"], "slow");
    assert_curves(&slow["classes"], &CompiledPolicy::load_file(&other)?);
    assert_eq!(
        slow["classes"]["transient"]["retries"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let r = client
        .get(format!("{}/v1/policy?queue=nope", daemon.url))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 404);

    // A bad edit is refused; its error keeps its line and time.
    std::fs::write(
        &main,
        "#{\n  classes: #{\n    transient: #{ base: 5s },\n  },\n}\n",
    )?;
    daemon.signal("HUP");
    let failed = eventually(Duration::from_secs(10), async || {
        let p = get("/v1/policy").await.ok()?;
        (!p["last_reload_error"].is_null()).then_some(p)
    })
    .await;
    let error = &failed["last_reload_error"];
    assert_eq!(error["line"], 3, "{error}");
    assert!(error["column"].is_u64(), "{error}");
    assert!(
        error["at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{error}"
    );
    assert_eq!(failed["version"], 1, "the running version stays");
    assert_curves(&failed["classes"], &compiled);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_checked_in_the_sandbox_and_never_applied() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let check = async |body: Value| -> Result<(u16, Value)> {
        let r = client
            .post(format!("{}/v1/policy/check", daemon.url))
            .json(&body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await?))
    };

    let (status, report) =
        check(json!({ "script": "#{\n  classes: #{\n    transient: #{ base: \"5s\" \n  }\n" }))
            .await?;
    assert_eq!(status, 200);
    assert_eq!(report["ok"], false, "{report}");
    let error = &report["errors"][0];
    assert!(
        error["line"].as_u64().is_some_and(|l| (3..=5).contains(&l)),
        "{report}"
    );
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("syntax")),
        "{report}"
    );
    assert_eq!(report["classes"], json!({}));

    let (_, report) =
        check(json!({ "script": "#{ classes: #{ transient: #{ max_retry: 3 } } }" })).await?;
    assert_eq!(report["ok"], false);
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_retries")),
        "{report}"
    );

    let (_, report) = check(json!({ "script": SCRIPT })).await?;
    assert_eq!(report["ok"], true, "{report}");
    assert_curves(
        &report["classes"],
        &CompiledPolicy::load_str(SCRIPT, "draft")?,
    );
    assert!(
        report["warnings"].as_array().is_some_and(|w| w
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains("throttled"))),
        "{report}"
    );

    // Nothing was applied.
    let live: Value = client
        .get(format!("{}/v1/policy", daemon.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(live["version"], 1);
    assert_eq!(live["source"], "built-in");
    assert!(live["classes"].get("throttled").is_none());

    let (status, _) = check(json!({ "script": "x".repeat(300 * 1024) })).await?;
    assert_eq!(status, 422, "a draft over 256 KiB");
    let (status, _) = check(json!({ "scrip": "#{}" })).await?;
    assert_eq!(status, 422);
    Ok(())
}
