//! `tenax schedule list`: one block per schedule.

use serde_json::Value;

use super::when::when;
use super::{Fields, Style, text};

/// The schedules as `GET /v1/schedules` answers them.
pub(crate) fn schedules(view: &Value, style: &Style) -> String {
    let Some(list) = view.as_array().filter(|l| !l.is_empty()) else {
        return "no schedules are configured (see `[[schedules]]` in `tenax config defaults`)\n"
            .to_owned();
    };
    let mut out = String::new();
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut f = Fields::new();
        f.add("schedule", style.bold(&text(&s["name"])))
            .add("timing", text(&s["timing"]))
            .add(
                "job",
                format!("{} on queue {}", text(&s["kind"]), text(&s["queue"])),
            )
            .add("catch up", text(&s["catch_up"]))
            .add("last fired", when(&s["last_fired"]))
            .add("next fire", when(&s["next_fire"]));
        out.push_str(&f.render(style));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_schedule_shows_its_last_and_next_tick() {
        let view = serde_json::json!([{
            "name": "reconcile", "timing": "every 1h", "catch_up": "one",
            "queue": "default", "kind": "http",
            "last_fired": "2026-01-01T10:00:00.000Z", "next_fire": "2026-01-01T11:00:00.000Z"
        }]);
        let out = schedules(&view, &Style::plain());
        assert!(
            out.contains("reconcile") && out.contains("every 1h"),
            "{out}"
        );
        assert!(
            out.contains("last fired") && out.contains("2026-01-01"),
            "{out}"
        );
        assert!(out.contains("next fire"), "{out}");
        let none = schedules(&serde_json::json!([]), &Style::plain());
        assert!(none.contains("no schedules"), "{none}");
    }
}
