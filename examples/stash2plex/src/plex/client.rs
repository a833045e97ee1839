//! The Plex Media Server calls this application makes, as python-plexapi makes them: the
//! token in the `X-Plex-Token` header (never in a URL, so no error message or log line
//! can carry it), `Accept: application/json`, and edits as `PUT
//! /library/sections/{section}/all?type=1&id={ratingKey}&title.value=...&title.locked=1`.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use reqwest::{Client, Method, RequestBuilder, Url};

use super::encode;
use super::model::{Envelope, Identity, Item, Items, Section, Sections};
use crate::classify::{CallError, Server};
use crate::http;

/// Plex's item type for movies (and other videos) in `type=` parameters.
pub const MOVIE_TYPE: &str = "1";

/// A Plex server and the token to call it with.
#[derive(Clone)]
pub struct PlexClient {
    http: Client,
    base: Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl fmt::Debug for PlexClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlexClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl PlexClient {
    /// A client for the server at `base` (`http://host:32400`), each request limited to
    /// `timeout`.
    ///
    /// # Errors
    /// A bad URL, or a token that cannot be a header value.
    pub fn new(http: Client, base: &str, token: &str, timeout: Duration) -> Result<Self, String> {
        let base = http::base_url(base)?;
        let mut headers = HeaderMap::new();
        let mut token = HeaderValue::from_str(token.trim())
            .map_err(|_| "the Plex token may hold only visible ASCII characters".to_owned())?;
        token.set_sensitive(true);
        headers.insert("X-Plex-Token", token);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert("X-Plex-Product", HeaderValue::from_static("stash2plex"));
        headers.insert(
            "X-Plex-Client-Identifier",
            HeaderValue::from_static("stash2plex-tenax"),
        );
        Ok(PlexClient {
            http,
            base,
            headers,
            timeout,
        })
    }

    /// The server's URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, CallError> {
        let url = self.base.join(path).map_err(|e| {
            CallError::unreadable(Server::Plex, format!("{method} /{path}"), e.to_string())
        })?;
        Ok(self
            .http
            .request(method, url)
            .headers(self.headers.clone())
            .timeout(self.timeout))
    }

    async fn send(
        &self,
        what: &str,
        request: RequestBuilder,
    ) -> Result<reqwest::Response, CallError> {
        let response = request
            .send()
            .await
            .map_err(|e| CallError::network(Server::Plex, what, &e))?;
        http::success(Server::Plex, what, response).await
    }

    /// `GET /identity`: the health probe. Plex answers it without a token, even while
    /// its libraries are still loading, but not while it is down or starting (503).
    pub async fn identity(&self) -> Result<Identity, CallError> {
        let what = "GET /identity";
        let response = self
            .send(what, self.request(Method::GET, "identity")?)
            .await?;
        let answer: Envelope<Identity> = http::json(Server::Plex, what, response).await?;
        Ok(answer.container)
    }

    /// `GET /library/sections`: every library.
    pub async fn sections(&self) -> Result<Vec<Section>, CallError> {
        let what = "GET /library/sections";
        let response = self
            .send(what, self.request(Method::GET, "library/sections")?)
            .await?;
        let answer: Envelope<Sections> = http::json(Server::Plex, what, response).await?;
        Ok(answer.container.directories)
    }

    /// One page of a library's movies, with their files: `GET
    /// /library/sections/{key}/all?type=1`, paged with the `X-Plex-Container-Start` and
    /// `X-Plex-Container-Size` headers as python-plexapi pages.
    pub async fn items_page(
        &self,
        section: &str,
        start: u64,
        size: u64,
    ) -> Result<Items, CallError> {
        let what = format!("GET /library/sections/{section}/all");
        let path = format!(
            "library/sections/{}/all?type={MOVIE_TYPE}",
            encode::percent_encode(section)
        );
        let request = self
            .request(Method::GET, &path)?
            .header("X-Plex-Container-Start", start.to_string())
            .header("X-Plex-Container-Size", size.to_string());
        let response = self.send(&what, request).await?;
        let answer: Envelope<Items> = http::json(Server::Plex, &what, response).await?;
        Ok(answer.container)
    }

    /// `GET /library/metadata/{ratingKey}`: one item with its fields, tags and locks;
    /// `None` if Plex has no such item (404).
    pub async fn item(&self, rating_key: &str) -> Result<Option<Item>, CallError> {
        let what = format!("GET /library/metadata/{rating_key}");
        let path = format!("library/metadata/{}", encode::percent_encode(rating_key));
        match self.send(&what, self.request(Method::GET, &path)?).await {
            Ok(response) => {
                let answer: Envelope<Items> = http::json(Server::Plex, &what, response).await?;
                Ok(answer.container.metadata.into_iter().next())
            }
            Err(CallError {
                cause: crate::classify::Cause::Status { status: 404, .. },
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Edits fields and tags of one item in one request: `PUT
    /// /library/sections/{section}/all?type=1&id={ratingKey}&...`.
    pub async fn edit(
        &self,
        section: &str,
        rating_key: &str,
        params: &[(String, String)],
    ) -> Result<(), CallError> {
        let what = format!("PUT /library/sections/{section}/all (item {rating_key})");
        let mut all = vec![
            ("type".to_owned(), MOVIE_TYPE.to_owned()),
            ("id".to_owned(), rating_key.to_owned()),
        ];
        all.extend_from_slice(params);
        let path = format!(
            "library/sections/{}/all?{}",
            encode::percent_encode(section),
            encode::query(&all)
        );
        self.send(&what, self.request(Method::PUT, &path)?).await?;
        Ok(())
    }

    /// Uploads `image` as the item's poster and selects it: `POST
    /// /library/metadata/{ratingKey}/posters` with the image as the body.
    pub async fn upload_poster(&self, rating_key: &str, image: Vec<u8>) -> Result<(), CallError> {
        let what = format!("POST /library/metadata/{rating_key}/posters");
        let path = format!(
            "library/metadata/{}/posters",
            encode::percent_encode(rating_key)
        );
        self.send(&what, self.request(Method::POST, &path)?.body(image))
            .await?;
        Ok(())
    }
}
