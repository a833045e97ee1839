//! The dashboard's files, embedded in the binary, with their content types.
//!
//! Each answer carries an `ETag` (a hash computed at compile time) and
//! `Cache-Control: no-cache`: a browser revalidates on every load and gets a 304 until
//! a new binary serves new files, so an upgrade never runs yesterday's script.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    etag: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const HTML: &str = "text/html; charset=utf-8";

/// FNV-1a over `bytes`, at compile time: a cache validator, not a security hash.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"` + 16 hex digits + `"`, at compile time.
const fn etag_of(bytes: &[u8]) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = fnv(bytes);
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! assets {
    ($($name:literal => $type:expr),* $(,)?) => {
        &[$({
            const BYTES: &[u8] = include_bytes!(concat!("../../ui/", $name));
            const TAG: [u8; 18] = etag_of(BYTES);
            Asset {
                name: $name,
                content_type: $type,
                bytes: BYTES,
                etag: match std::str::from_utf8(&TAG) {
                    Ok(tag) => tag,
                    Err(_) => panic!("an ETag is ASCII"),
                },
            }
        }),*]
    };
}

/// Every file under `worker/cli/ui/` that a page loads.
static ASSETS: &[Asset] = assets![
    "index.html" => HTML,
    "app.css" => CSS,
    "favicon.svg" => SVG,
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "format.js" => JS,
    "chart.js" => JS,
    "dialog.js" => JS,
    "live.js" => JS,
    "nav.js" => JS,
    "views/common.js" => JS,
    "views/bulk.js" => JS,
    "views/history.js" => JS,
    "views/overview.js" => JS,
    "views/jobs.js" => JS,
    "views/job.js" => JS,
    "views/dead.js" => JS,
    "views/queues.js" => JS,
    "views/breaker.js" => JS,
    "views/policy.js" => JS,
];

/// `GET /ui/assets/{file}`.
pub(crate) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS
        .iter()
        .find(|a| a.name == file && a.name != "index.html")
    {
        Some(asset) => answer(asset, &headers),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such dashboard file",
        )
            .into_response(),
    }
}

/// Every screen's path: the page shell, which loads the app; the app reads the path.
pub(crate) async fn shell(headers: HeaderMap) -> Response {
    let index = ASSETS
        .iter()
        .find(|a| a.name == "index.html")
        .unwrap_or(&ASSETS[0]);
    answer(index, &headers)
}

fn answer(asset: &Asset, request: &HeaderMap) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (header::ETAG, HeaderValue::from_static(asset.etag)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_name_and_a_quoted_tag() {
        let mut names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        for asset in ASSETS {
            assert_eq!(asset.etag.len(), 18, "{}", asset.name);
            assert!(asset.etag.starts_with('"') && asset.etag.ends_with('"'));
            assert!(!asset.bytes.is_empty(), "{} is empty", asset.name);
        }
    }

    #[test]
    fn every_module_the_pages_import_is_served() {
        // A module imported by a page but missing here would 404 in the browser only.
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).expect("UTF-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split(['"', '\'']).nth(1) else {
                    continue;
                };
                let dir = asset.name.rsplit_once('/').map_or("", |(d, _)| d);
                let target = resolve(dir, spec);
                assert!(
                    ASSETS.iter().any(|a| a.name == target),
                    "{} imports {spec} ({target}), which is not served",
                    asset.name
                );
            }
        }
    }

    /// `spec` (`./x.js` or `../x.js`) relative to the folder `dir`.
    fn resolve(dir: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        parts.join("/")
    }
}
