//! URL tricks against the allow-list, beyond the basic table of `http_allowed_bases.rs`:
//! fragments and user information, IPv6 and other IPv4 spellings, control characters.

use anyhow::Result;
use tenax_policies::{CompiledPolicy, LivePolicy};
use tenax_worker::Handler;
use tenax_worker::http::{HttpConfig, HttpHandler, HttpRequest};

fn handler(base: &str) -> HttpHandler {
    let config = HttpConfig {
        allowed_bases: vec![base.to_owned()],
        ..HttpConfig::default()
    };
    HttpHandler::new(config, LivePolicy::new(CompiledPolicy::default())).expect("valid config")
}

#[test]
fn tricks_do_not_get_past_the_allow_list() -> Result<()> {
    let h = handler("http://127.0.0.1:8096/api");
    let refused = [
        "http://127.0.0.1:8096@evil.example/api",
        "http://evil.example#@127.0.0.1:8096/api",
        "http://evil.example\\@127.0.0.1:8096/api",
        "http://127.0.0.1:8097/api",
        "https://127.0.0.1:8096/api",
        "http://[::1]:8096/api",
        "http://[::ffff:127.0.0.1]:8096/api",
        "http://localhost:8096/api",
        "http://127.0.0.1:8096/admin",
        "http://127.0.0.1:8096/api/../admin",
        "http://127.0.0.1:8096/api/%2e%2e/admin",
        "http://127.0.0.1:8096/api/..%2fadmin",
        "http://127.0.0.1:8096/apiary",
        "file:///etc/passwd",
        "gopher://127.0.0.1:8096/api",
        "//127.0.0.1:8096/api",
        "api/items",
        "",
    ];
    for url in refused {
        let payload = HttpRequest::get(url).to_payload();
        assert!(h.validate(&payload).is_err(), "{url:?} must be refused");
    }
    // Spellings the URL parser normalises to the allowed address are the same host.
    let same = [
        "http://127.0.0.1:8096/api/items",
        "http://2130706433:8096/api/items",
        "http://0x7f.1:8096/api/items",
        "http://127.1:8096/api/items",
        "HTTP://127.0.0.1:8096/api/x/../items",
    ];
    for url in same {
        let payload = HttpRequest::get(url).to_payload();
        assert!(h.validate(&payload).is_ok(), "{url:?} is the allowed base");
    }
    Ok(())
}

#[test]
fn control_characters_in_urls_are_stripped_or_refused_never_smuggled() {
    let h = handler("http://h.example/api");
    for url in [
        "http://h.example/api\r\nHost: evil.example",
        "http://h.example\t/api",
        "http://evil.example\n.h.example/api",
    ] {
        let payload = HttpRequest::get(url).to_payload();
        if h.validate(&payload).is_ok() {
            // The parser removes tabs and newlines; what is left must still be the base.
            let parsed = reqwest::Url::parse(url).expect("parses once cleaned");
            assert_eq!(parsed.host_str(), Some("h.example"), "{url:?}");
        }
    }
}

#[test]
fn an_ipv6_base_allows_only_itself() {
    let h = handler("http://[::1]:8096/");
    assert!(
        h.validate(&HttpRequest::get("http://[::1]:8096/x").to_payload())
            .is_ok()
    );
    assert!(
        h.validate(&HttpRequest::get("http://[0:0:0:0:0:0:0:1]:8096/x").to_payload())
            .is_ok()
    );
    assert!(
        h.validate(&HttpRequest::get("http://127.0.0.1:8096/x").to_payload())
            .is_err()
    );
    assert!(
        h.validate(&HttpRequest::get("http://[::2]:8096/x").to_payload())
            .is_err()
    );
}
