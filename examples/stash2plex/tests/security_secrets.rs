//! The Plex token and the Stash API key reach their servers in request headers and
//! nowhere else: not in the store's files, not in any API answer, not in any log line,
//! not in what `config check` prints, even at the most verbose log level and with
//! failures whose messages quote the servers' answers.

mod support;

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use support::daemon::run;
use support::{PLEX_TOKEN, STASH_KEY, World, eventually, get, scene};

const WAIT: Duration = Duration::from_secs(30);
const SECRETS: [&str; 2] = [PLEX_TOKEN, STASH_KEY];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret shows in {what}");
    }
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plex_token_never_appears_in_the_store_the_api_or_the_logs() -> Result<()> {
    let mut w = World::prepared("").await;
    w.launch_with(&[("RUST_LOG", "trace,fjall=info,lsm_tree=info")]);
    let key = w.plex.add_item("/mnt/media/sec/ok.mp4", true);
    w.stash.put(scene(1, "sec/ok.mp4"));
    w.stash.put(scene(2, "sec/denied.mp4"));
    w.plex.add_item("/mnt/media/sec/denied.mp4", true);

    w.enqueue(1).await;
    w.plex
        .until(WAIT, "scene 1 synced", |s| s.items[&key].edits == 1)
        .await;
    w.completed(1).await;
    // Now Plex wants another token: scene 2 dies with Plex's 401 answer in its error.
    w.plex.change(|s| s.token = "rotated".into());
    let denied = w.enqueue(2).await;
    eventually(WAIT, "scene 2 dead", async || {
        (w.job(&denied["id"]).await["state"] == "dead").then_some(())
    })
    .await;

    // The token did reach Plex, in its header, and only there.
    {
        let s = w.plex.state();
        assert!(
            s.requests
                .iter()
                .any(|r| r.token.as_deref() == Some(PLEX_TOKEN))
        );
        assert!(
            s.requests.iter().all(|r| !r.query.contains(PLEX_TOKEN)),
            "never in a URL"
        );
    }

    let api = w.api();
    for path in [
        format!("/v1/jobs/{}", denied["id"]),
        "/v1/jobs?state=dead".to_owned(),
        "/v1/dead".to_owned(),
        format!("/v1/dead/{}", denied["id"]),
        "/v1/dead/groups".to_owned(),
        "/v1/history".to_owned(),
        "/v1/stats".to_owned(),
        "/v1/breaker".to_owned(),
        "/v1/queues".to_owned(),
        "/v1/policy".to_owned(),
        "/v1/schedules".to_owned(),
        "/v1/openapi.json".to_owned(),
    ] {
        let answer = get(&w.client, &api, &path).await;
        assert_clean(&path, &answer.to_string());
    }
    let metrics = w
        .client
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert_clean("/metrics", &metrics);

    let config = w.config.display().to_string();
    let env = [("PLEX_TOKEN", PLEX_TOKEN), ("STASH_API_KEY", STASH_KEY)];
    let (code, out, err) = run(&["config", "check", &config], &env);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("PLEX_TOKEN"),
        "the effective config names where the token comes from:\n{out}"
    );
    assert_clean("config check", &format!("{out}{err}"));

    let daemon = w.daemon.take().expect("daemon");
    let logs = daemon.output();
    assert!(logs.len() > 50, "trace logging produced output");
    assert!(
        logs.iter().any(|l| l.contains("401")),
        "the failure was logged"
    );
    assert_clean("the logs", &logs.join("\n"));
    assert!(daemon.stop().success());

    let mut stored = Vec::new();
    files(&w.dir.path().join("data"), &mut stored);
    assert!(!stored.is_empty());
    for file in stored {
        let bytes = std::fs::read(&file)?;
        for secret in SECRETS {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|win| win == secret.as_bytes()),
                "a secret is stored in {}",
                file.display()
            );
        }
    }
    Ok(())
}
