//! The request payload: what parses, what it defaults to, and a clear error for each
//! way it can be wrong.

mod support;

use std::time::Duration;

use anyhow::Result;
use reqwest::Method;
use serde_json::json;
use tenax_worker::Handler;
use tenax_worker::http::{HttpBody, HttpRequest, RequestError};

use support::handler;

fn parse(payload: &str) -> Result<HttpRequest, RequestError> {
    HttpRequest::from_payload(payload.as_bytes())
}

#[test]
fn the_builder_round_trips_through_the_payload() -> Result<()> {
    let request = HttpRequest::post_json("https://h/api/orders", json!({ "order": 42 }))
        .header("X-Tenant", "acme")
        .timeout(Duration::from_millis(1500));
    assert_eq!(HttpRequest::from_payload(&request.to_payload())?, request);

    let text = HttpRequest::new(Method::PUT, "http://h/").text("plain");
    assert_eq!(HttpRequest::from_payload(&text.to_payload())?, text);
    Ok(())
}

#[test]
fn method_defaults_to_the_body_and_ignores_case() -> Result<()> {
    assert_eq!(parse(r#"{"url":"http://h/"}"#)?.method(), Method::GET);
    assert_eq!(
        parse(r#"{"url":"http://h/","text":"x"}"#)?.method(),
        Method::POST
    );
    assert_eq!(
        parse(r#"{"url":"http://h/","method":"delete"}"#)?.method(),
        Method::DELETE
    );
    let null_body = parse(r#"{"url":"http://h/","json":null}"#)?;
    assert_eq!(
        null_body.body(),
        Some(&HttpBody::Json(serde_json::Value::Null))
    );
    Ok(())
}

#[test]
fn timeouts_are_humantime_strings_or_milliseconds() -> Result<()> {
    let cases = [(r#""30s""#, 30_000), (r#""1m 30s""#, 90_000), ("250", 250)];
    for (given, millis) in cases {
        let request = parse(&format!(r#"{{"url":"http://h/","timeout":{given}}}"#))?;
        assert_eq!(
            request.request_timeout(),
            Some(Duration::from_millis(millis)),
            "{given}"
        );
    }
    Ok(())
}

#[test]
fn each_mistake_gets_a_clear_error() {
    let table = [
        (
            r#"{"url":"http://h/","timout":"5s"}"#,
            "unknown field `timout`",
        ),
        (r#"{"method":"GET"}"#, "missing field `url`"),
        (
            r#"{"url":"http://h/","headers":"Authorization: Bearer s3cr3t"}"#,
            "`headers` must be a map (line 1",
        ),
        (r#"{"url":"http://h/""#, "EOF while parsing"),
        (
            r#"{"url":"http://h/","json":{},"text":"x"}"#,
            "give `json` or `text`, not both",
        ),
        (
            r#"{"url":"http://h/","method":"FETCH"}"#,
            "invalid method `FETCH`",
        ),
        (
            r#"{"url":"http://h/","method":"trace"}"#,
            "CONNECT and TRACE are not allowed",
        ),
        (
            r#"{"url":"http://h/","method":"CONNECT"}"#,
            "CONNECT and TRACE are not allowed",
        ),
        (
            r#"{"url":"http://h/","headers":{"Host":"evil"}}"#,
            "invalid header `Host`",
        ),
        (
            r#"{"url":"http://h/","headers":{"content-length":"1"}}"#,
            "set by the HTTP client",
        ),
        (
            r#"{"url":"http://h/","headers":{"Transfer-Encoding":"chunked"}}"#,
            "set by the HTTP client",
        ),
        (
            r#"{"url":"http://h/","headers":{"Connection":"close"}}"#,
            "set by the HTTP client",
        ),
        (
            r#"{"url":"http://h/","headers":{"bad name":"x"}}"#,
            "not a valid header name",
        ),
        (
            r#"{"url":"http://h/","headers":{"X-A":"line\nbreak"}}"#,
            "visible ASCII",
        ),
        (
            r#"{"url":"http://h/","headers":{"X-A":"1","x-a":"2"}}"#,
            "given twice",
        ),
        (
            r#"{"url":"http://h/","timeout":"soon"}"#,
            "invalid timeout: `\"soon\"` is not a duration",
        ),
        (r#"{"url":"http://h/","timeout":-5}"#, "is not a duration"),
        (
            r#"{"url":"http://h/","timeout":0}"#,
            "must be more than zero",
        ),
        (r#"{"url":"not a url"}"#, "invalid url `not a url`"),
        (r#"{"url":"ftp://h/"}"#, "scheme `ftp` is not http or https"),
        (
            r#"{"url":"http://me:pw@h/"}"#,
            "credentials in the URL are not allowed",
        ),
    ];
    for (payload, expected) in table {
        let err = parse(payload).expect_err(payload);
        assert!(err.to_string().contains(expected), "{payload}: {err}");
    }
    // serde's position helps find the mistake in a long payload.
    let err = parse("{\n\"url\": 5}").expect_err("wrong type");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn validate_refuses_timeouts_above_the_maximum() {
    let handler = handler(&["http://h/"]);
    let long = HttpRequest::get("http://h/").timeout(Duration::from_secs(301));
    let err = handler.validate(&long.to_payload()).expect_err("too long");
    assert!(err.message.contains("exceeds the maximum of 5m"), "{err}");
    let fine = HttpRequest::get("http://h/").timeout(Duration::from_secs(300));
    assert!(handler.validate(&fine.to_payload()).is_ok());
    let garbage = handler.validate(b"not json").expect_err("garbage");
    assert!(
        garbage.message.starts_with("invalid HTTP request payload"),
        "{garbage}"
    );
}
