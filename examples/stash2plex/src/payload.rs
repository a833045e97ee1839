//! The payloads of this application's job kinds. Both are checked at enqueue
//! ([`tenax_worker::Handler::validate`]), so a malformed job is refused at the door
//! instead of dying in the dead letters.
//!
//! A payload holds ids and times, never metadata or credentials: the scene is read from
//! Stash when the job runs, so a job that waited hours syncs the scene as it is then.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};

/// `plex-sync`: `{"scene_id": "42"}` (a number is taken too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncPayload {
    /// The Stash scene.
    #[serde(deserialize_with = "scene_id")]
    pub scene_id: String,
}

impl SyncPayload {
    /// The job for `scene_id`.
    pub fn new(scene_id: impl Into<String>) -> Self {
        SyncPayload {
            scene_id: scene_id.into(),
        }
    }

    /// Parses and checks a payload.
    ///
    /// # Errors
    /// What is wrong with it, for a 422 at enqueue or a permanent failure.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let shape = "a plex-sync payload is {\"scene_id\": \"<Stash scene id>\"}";
        if !is_object(payload) {
            return Err(format!("{shape}: got no JSON object"));
        }
        serde_json::from_slice(payload).map_err(|e| format!("{shape}: {e}"))
    }

    /// The payload as JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The dedup key every producer uses for this scene, so that a scene waits in the
    /// queue at most once: `scene-<id>`.
    pub fn dedup_key(&self) -> String {
        format!("scene-{}", self.scene_id)
    }
}

fn scene_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    let id = match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    };
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom(format!(
            "scene_id must be a Stash scene id (digits), got {id:?}"
        )));
    }
    Ok(id)
}

/// `plex-reconcile`: `{"since": "24h"}`, `{"since": "2024-05-01T00:00:00Z"}` or `{}`
/// (every scene). A job handles one page of scenes and enqueues the next page as a new
/// job with `since` made absolute and `after_id` set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcilePayload {
    /// Only scenes changed after this: a duration back from now (`24h`, `7d`), or an
    /// RFC 3339 time. Default: every scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Only scenes with a higher id (the page cursor). Default: 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub after_id: u64,
}

/// Serde takes a JSON array for a struct too; a payload must be an object.
fn is_object(payload: &[u8]) -> bool {
    payload.trim_ascii_start().first() == Some(&b'{')
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ReconcilePayload {
    /// Parses and checks a payload.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(payload: &[u8]) -> Result<Self, String> {
        let shape = "a plex-reconcile payload is {\"since\": \"24h\"} or {}";
        if !is_object(payload) {
            return Err(format!("{shape}: got no JSON object"));
        }
        let p: ReconcilePayload =
            serde_json::from_slice(payload).map_err(|e| format!("{shape}: {e}"))?;
        p.updated_since(SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 33))?;
        Ok(p)
    }

    /// The payload as JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `since` as the RFC 3339 time Stash filters on (`None`: every scene), a duration
    /// taken back from `now`.
    ///
    /// # Errors
    /// Neither a duration nor an RFC 3339 time.
    pub fn updated_since(&self, now: SystemTime) -> Result<Option<String>, String> {
        let Some(since) = self.since.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if let Ok(back) = humantime::parse_duration(since) {
            let at = now.checked_sub(back).unwrap_or(SystemTime::UNIX_EPOCH);
            return Ok(Some(humantime::format_rfc3339_seconds(at).to_string()));
        }
        if humantime::parse_rfc3339_weak(since).is_ok() {
            return Ok(Some(since.to_owned()));
        }
        Err(format!(
            "since must be a duration such as \"24h\" or an RFC 3339 time such as \
             \"2024-05-01T00:00:00Z\", got {since:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_payload_takes_a_string_or_a_number_and_nothing_else() {
        assert_eq!(
            SyncPayload::parse(br#"{"scene_id":"42"}"#),
            Ok(SyncPayload::new("42"))
        );
        assert_eq!(
            SyncPayload::parse(br#"{"scene_id":42}"#),
            Ok(SyncPayload::new("42"))
        );
        for bad in [
            &br#"{}"#[..],
            br#"{"scene_id":""}"#,
            br#"{"scene_id":"4 2"}"#,
            br#"{"scene_id":-1}"#,
            br#"{"scene_id":"1","token":"x"}"#,
            br#"[1]"#,
            b"not json",
        ] {
            let err = SyncPayload::parse(bad).expect_err("refused");
            assert!(err.contains("scene_id"), "{err}");
        }
        let p = SyncPayload::new("7");
        assert_eq!(p.dedup_key(), "scene-7");
        assert_eq!(SyncPayload::parse(&p.to_bytes()), Ok(p));
    }

    #[test]
    fn since_is_a_duration_back_from_now_or_a_time() -> Result<(), String> {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 2);
        let relative = ReconcilePayload::parse(br#"{"since":"24h"}"#)?;
        assert_eq!(
            relative.updated_since(now)?.as_deref(),
            Some("1970-01-02T00:00:00Z")
        );
        let absolute =
            ReconcilePayload::parse(br#"{"since":"2024-05-01T00:00:00Z","after_id":9}"#)?;
        assert_eq!(
            absolute.updated_since(now)?.as_deref(),
            Some("2024-05-01T00:00:00Z")
        );
        assert_eq!(absolute.after_id, 9);
        assert_eq!(ReconcilePayload::parse(b"{}")?.updated_since(now)?, None);
        assert!(ReconcilePayload::parse(br#"{"since":"yesterday"}"#).is_err());
        assert!(ReconcilePayload::parse(br#"{"page":2}"#).is_err());
        Ok(())
    }
}
