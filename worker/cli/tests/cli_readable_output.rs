//! `job show`, `breaker` and `policy show` print aligned fields and local times for
//! people, and the API's JSON with `--json`.

mod support;

use anyhow::Result;
use serde_json::{Value, json};
use support::daemon::{Daemon, tenax};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_commands_print_for_people_and_json_for_programs() -> Result<()> {
    let daemon = Daemon::start("[http]\nallowed_bases = [\"http://127.0.0.1:9/\"]\n");
    let client = support::api_client();
    let job =
        json!({ "kind": "http", "delay": "1h", "payload": { "url": "http://127.0.0.1:9/x" } });
    let answer: Value = client
        .post(format!("{}/v1/jobs", daemon.url))
        .json(&job)
        .send()
        .await?
        .json()
        .await?;
    let id = answer["id"].to_string();

    let (code, out, err) = tenax(&["job", "show", &id, "--api", &daemon.addr]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("id        {id}\n")), "aligned: {out}");
    assert!(out.contains("state     waiting\n"), "{out}");
    assert!(
        out.contains("(in 59m)") || out.contains("(in 1h)"),
        "relative: {out}"
    );
    assert!(!out.contains('\x1b'), "no colour off a terminal: {out}");
    assert!(serde_json::from_str::<Value>(&out).is_err(), "not JSON");
    let (code, out, _) = tenax(&["job", "show", &id, "--json", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out)?["state"], "waiting");

    let (code, out, _) = tenax(&["breaker", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert!(out.contains("state     closed\n"), "{out}");
    assert!(out.contains("0 in a row"), "{out}");

    let (code, out, _) = tenax(&["policy", "show", "--api", &daemon.addr]);
    assert_eq!(code, 0);
    assert!(out.contains("version      1\n"), "{out}");
    assert!(out.contains("retry schedules"), "{out}");
    assert!(out.contains("transient"), "{out}");
    Ok(())
}
