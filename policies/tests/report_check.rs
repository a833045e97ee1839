//! The check report behind `tenax policy check`: settings beside the defaults, schedules.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tenax_policies::{CheckReport, CompiledPolicy, Result, ScheduleEnd, Span};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn default_report_prints_the_transient_schedule() -> Result<()> {
    let report = CheckReport::new(&CompiledPolicy::default());
    let text = report.to_string();
    let transient = &report.schedules[0];
    assert_eq!(transient.class.as_str(), "transient");
    let delays: Vec<Span> = transient.head.iter().map(|r| r.delay).collect();
    let expected: Vec<Span> = [5, 10, 20, 40, 80]
        .map(|x| Span {
            min: ms(x * 500),
            max: s(x),
        })
        .to_vec();
    assert_eq!(delays, expected);
    assert_eq!(transient.end, ScheduleEnd::RetriesExhausted);
    assert_eq!(
        transient.dead_after,
        Span {
            min: ms(77_500),
            max: s(155)
        }
    );
    for line in [
        "1  2.5s..5s",
        "5  40s..1m 20s",
        "dead when attempt 6 fails: 1m 17.5s..2m 35s",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("permanent (never retried"), "{text}");
    assert!(
        !text.contains("\n*"),
        "nothing differs from the defaults:\n{text}"
    );
    Ok(())
}

#[test]
fn long_schedules_show_head_and_tail_with_the_total() -> Result<()> {
    let report = CheckReport::new(&CompiledPolicy::default());
    let unavailable = &report.schedules[2];
    assert_eq!(unavailable.head.len(), 10);
    assert_eq!(unavailable.tail.len(), 3);
    assert_eq!(unavailable.omitted, 986);
    assert_eq!(unavailable.tail.last().unwrap().retry, 999);
    // 30+60+120+240 s, then 995 retries at the 300 s cap; jitter halves the minimum.
    let max = s(30 + 60 + 120 + 240 + 995 * 300);
    assert_eq!(unavailable.dead_after, Span { min: max / 2, max });
    let text = report.to_string();
    assert!(text.contains("(986 more)"), "{text}");
    assert!(text.contains("dead when attempt 1000 fails"), "{text}");
    Ok(())
}

#[test]
fn differences_from_the_defaults_are_marked() -> Result<()> {
    let script = r#"#{
        classes: #{
            not_found: #{ base: "1m", cap: "30m", max_retries: 24 },
            rate_limited: #{ base: "30s" },
        },
        breaker: #{ ramp: #{ start_rate_per_sec: 5, end_rate_per_sec: 20, duration: "5m" } },
    }"#;
    let report = CheckReport::new(&CompiledPolicy::load_str(script, "media.rhai")?);
    let differs: Vec<&str> = report
        .settings
        .iter()
        .filter(|r| r.differs)
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        differs,
        [
            "classes.not_found.base",
            "classes.not_found.cap",
            "classes.not_found.max_retries",
            "classes.rate_limited.base",
            "classes.rate_limited.cap",
            "classes.rate_limited.max_retries",
            "classes.rate_limited.jitter",
            "classes.rate_limited.breaker",
            "breaker.ramp",
        ]
    );
    let text = report.to_string();
    assert!(
        text.lines().any(|l| l.starts_with("*")
            && l.contains("classes.not_found.base")
            && l.contains("1m")
            && l.contains("30s")),
        "{text}"
    );
    assert!(text.contains("5/s to 20/s over 5m"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["schedules"][1]["max_retries"], 24);
    Ok(())
}

#[test]
fn script_delay_shows_in_the_schedule() -> Result<()> {
    let script = r#"
        fn delay(class, attempt, delay_ms, error) {
            if class == "transient" && attempt == 3 { return "dead"; }
            delay_ms
        }
        #{}
    "#;
    let report = CheckReport::new(&CompiledPolicy::load_str(script, "dead3.rhai")?);
    let transient = &report.schedules[0];
    assert_eq!(transient.head.len(), 2);
    assert_eq!(transient.end, ScheduleEnd::ScriptSaidDead { attempt: 3 });
    assert!(report.to_string().contains("the script says so"));
    Ok(())
}
