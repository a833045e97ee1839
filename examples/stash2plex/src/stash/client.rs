//! The Stash calls: `POST /graphql` with the `ApiKey` header, and the scene's screenshot.
//!
//! A GraphQL server answers 200 even when the query failed, with `errors` beside (or
//! instead of) `data`; such an answer is a [`CallError`] like any other, classified
//! `transient` (see [`crate::classify`]).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::scene::{SCENE_FIELDS, Scene};
use crate::classify::{CallError, Cause, Server};
use crate::http;

/// A Stash server and its API key.
#[derive(Clone)]
pub struct StashClient {
    http: Client,
    base: Url,
    graphql: Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl fmt::Debug for StashClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StashClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

#[derive(Deserialize)]
struct GraphQlError {
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FoundScene {
    find_scene: Option<Scene>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FoundScenes {
    find_scenes: ScenePage,
}

#[derive(Deserialize)]
struct ScenePage {
    scenes: Vec<Scene>,
}

impl StashClient {
    /// A client for the server at `base` (`http://host:9999`), with `api_key` if Stash
    /// has credentials set, each request limited to `timeout`.
    ///
    /// # Errors
    /// A bad URL, or a key that cannot be a header value.
    pub fn new(
        http: Client,
        base: &str,
        api_key: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let base = http::base_url(base)?;
        let graphql = base.join("graphql").map_err(|e| e.to_string())?;
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut key = HeaderValue::from_str(key.trim()).map_err(|_| {
                "the Stash API key may hold only visible ASCII characters".to_owned()
            })?;
            key.set_sensitive(true);
            headers.insert("ApiKey", key);
        }
        Ok(StashClient {
            http,
            base,
            graphql,
            headers,
            timeout,
        })
    }

    async fn graphql<T: DeserializeOwned>(
        &self,
        operation: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, CallError> {
        let what = format!("POST /graphql ({operation})");
        let body = json!({ "operationName": operation, "query": query, "variables": variables });
        let response = self
            .http
            .post(self.graphql.clone())
            .headers(self.headers.clone())
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| CallError::network(Server::Stash, &what, &e))?;
        let response = http::success(Server::Stash, &what, response).await?;
        let answer: Answer<T> = http::json(Server::Stash, &what, response).await?;
        if !answer.errors.is_empty() {
            let messages: Vec<_> = answer.errors.into_iter().map(|e| e.message).collect();
            return Err(CallError::unreadable(
                Server::Stash,
                what,
                format!("GraphQL errors: {}", messages.join("; ")),
            ));
        }
        answer
            .data
            .ok_or_else(|| CallError::unreadable(Server::Stash, what, "no `data` in the answer"))
    }

    /// The scene with `id`, or `None` if Stash has none (it was deleted).
    pub async fn scene(&self, id: &str) -> Result<Option<Scene>, CallError> {
        let query =
            format!("query FindScene($id: ID!) {{ findScene(id: $id) {{ {SCENE_FIELDS} }} }}");
        let found: FoundScene = self
            .graphql("FindScene", &query, json!({ "id": id }))
            .await?;
        Ok(found.find_scene)
    }

    /// Up to `limit` scenes with an id above `after_id`, in id order, changed after
    /// `updated_since` (RFC 3339) if given. Paging by id rather than by page number
    /// neither skips nor repeats a scene when others are added or deleted meanwhile.
    pub async fn scenes_after(
        &self,
        after_id: u64,
        updated_since: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Scene>, CallError> {
        let query = format!(
            "query FindScenes($filter: FindFilterType, $scene_filter: SceneFilterType) {{ \
             findScenes(filter: $filter, scene_filter: $scene_filter) {{ scenes {{ {SCENE_FIELDS} }} }} }}"
        );
        let mut scene_filter = json!({ "id": { "value": after_id, "modifier": "GREATER_THAN" } });
        if let Some(since) = updated_since {
            scene_filter["updated_at"] = json!({ "value": since, "modifier": "GREATER_THAN" });
        }
        let variables = json!({
            "filter": { "per_page": limit, "sort": "id", "direction": "ASC" },
            "scene_filter": scene_filter,
        });
        let found: FoundScenes = self.graphql("FindScenes", &query, variables).await?;
        Ok(found.find_scenes.scenes)
    }

    /// `{ version { version } }`: whether Stash answers, for the health probe.
    pub async fn version(&self) -> Result<String, CallError> {
        #[derive(Deserialize)]
        struct Version {
            version: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            version: Option<String>,
        }
        let v: Version = self
            .graphql(
                "Version",
                "query Version { version { version } }",
                json!({}),
            )
            .await?;
        Ok(v.version.version.unwrap_or_default())
    }

    /// The image at `url` (a scene's screenshot), or `None` if Stash has none (404).
    ///
    /// The API key is sent only to the configured Stash: a URL on another host or port
    /// (Stash may build its URLs from its own idea of its address) is fetched from the
    /// configured one, with the same path and query.
    pub async fn image(&self, url: &str) -> Result<Option<Vec<u8>>, CallError> {
        let url = self.same_origin(url)?;
        let what = format!("GET {}", url.path());
        let response = self
            .http
            .get(url)
            .headers(self.headers.clone())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| CallError::network(Server::Stash, &what, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = http::success(Server::Stash, &what, response).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CallError::network(Server::Stash, &what, &e))?;
        Ok(Some(bytes.to_vec()))
    }

    fn same_origin(&self, url: &str) -> Result<Url, CallError> {
        let parsed = Url::parse(url).or_else(|_| self.base.join(url.trim_start_matches('/')));
        let mut parsed = parsed.map_err(|e| {
            CallError::unreadable(Server::Stash, "screenshot URL", format!("`{url}`: {e}"))
        })?;
        if parsed.origin() != self.base.origin() {
            let _ = parsed.set_scheme(self.base.scheme());
            let _ = parsed.set_host(self.base.host_str());
            let _ = parsed.set_port(self.base.port());
        }
        if parsed.origin() != self.base.origin() {
            return Err(CallError {
                server: Server::Stash,
                what: "screenshot URL".into(),
                cause: Cause::Unreadable(format!(
                    "`{url}` cannot be fetched from the configured Stash"
                )),
            });
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screenshot_is_fetched_from_the_configured_stash_only() -> anyhow::Result<()> {
        let http = crate::http::client(Duration::from_secs(1)).map_err(anyhow::Error::msg)?;
        let stash = StashClient::new(
            http,
            "http://127.0.0.1:9999",
            Some("k"),
            Duration::from_secs(1),
        )
        .map_err(anyhow::Error::msg)?;
        let same = stash.same_origin("http://127.0.0.1:9999/scene/3/screenshot?t=1")?;
        assert_eq!(
            same.as_str(),
            "http://127.0.0.1:9999/scene/3/screenshot?t=1"
        );
        let moved = stash.same_origin("https://stash.example:443/scene/3/screenshot?t=1")?;
        assert_eq!(
            moved.as_str(),
            "http://127.0.0.1:9999/scene/3/screenshot?t=1"
        );
        let relative = stash.same_origin("/scene/4/screenshot")?;
        assert_eq!(
            relative.as_str(),
            "http://127.0.0.1:9999/scene/4/screenshot"
        );
        Ok(())
    }
}
