//! A small WebDriver client: Debian's headless Chromium driven through chromedriver
//! over the W3C WebDriver protocol (JSON over HTTP), enough for the dashboard's tests:
//! navigate, find, click, type, run a script, wait on the DOM, take screenshots.
//!
//! [`Browser::start`] returns `None` (and the test prints `SKIPPED`) on a machine
//! without chromedriver and Chromium; `.ci/run` installs both.
//!
//! Every page load also installs a recorder (through the DevTools protocol, before any
//! script of the page runs) of uncaught errors and `Content-Security-Policy`
//! violations, so a test fails on a broken script or a blocked inline style that a
//! person would only notice as a blank or unstyled screen.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// The desktop and phone viewports every screen is photographed at.
pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

const RECORDER: &str = "window.__tenaxErrors = [];\
    addEventListener('error', e => window.__tenaxErrors.push('error: ' + (e.message || e.type)));\
    addEventListener('unhandledrejection', e => window.__tenaxErrors.push('rejection: ' + (e.reason && e.reason.message || e.reason)));\
    document.addEventListener('securitypolicyviolation', e => window.__tenaxErrors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));";

/// A Chromium session; the browser and its driver end when it is dropped.
pub struct Browser {
    driver: Child,
    /// `http://127.0.0.1:PORT` of chromedriver.
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    shots: Vec<PathBuf>,
}

fn find_program(env: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at the desktop size, or `None` when
    /// either is not installed (`CHROMEDRIVER` and `CHROMIUM` override the paths).
    pub async fn start(test: &str) -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (
            find_program("CHROMEDRIVER", "/usr/bin/chromedriver"),
            find_program("CHROMIUM", "/usr/bin/chromium"),
        ) else {
            eprintln!(
                "SKIPPED: {test}: the browser test needs chromedriver and Chromium \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        Some(
            Self::launch(&driver, &chromium)
                .await
                .expect("start chromedriver and Chromium"),
        )
    }

    async fn launch(driver: &std::path::Path, chromium: &std::path::Path) -> Result<Browser> {
        let profile = tempfile::tempdir()?;
        let mut child = Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn chromedriver")?;
        let stdout = child.stdout.take().context("chromedriver stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .map(|p| p.trim_end_matches('.').trim().to_owned())
                {
                    let _ = tx.send(port);
                }
            }
        });
        let Ok(port) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("chromedriver did not say its port");
        };
        let base = format!("http://127.0.0.1:{port}");
        let http = super::api_client();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1280,800",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let mut browser = Browser {
            driver: child,
            base,
            session: String::new(),
            http,
            _profile: profile,
            shots: screenshot_dirs(),
        };
        let answer = browser.call("POST", "/session", Some(capabilities)).await?;
        browser.session = answer["sessionId"]
            .as_str()
            .context("no session id")?
            .to_owned();
        browser
            .cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": RECORDER }),
            )
            .await?;
        browser.resize(DESKTOP).await?;
        Ok(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .json(&body.unwrap_or_else(|| json!({}))),
        };
        let answer: Value = request.send().await?.json().await?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            bail!(
                "WebDriver {method} {path}: {error}: {}",
                value["message"].as_str().unwrap_or("")
            );
        }
        Ok(value)
    }

    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    /// A DevTools protocol command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Sets the viewport to `(width, height)` CSS pixels.
    pub async fn resize(&self, (width, height): (u32, u32)) -> Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        )
        .await?;
        Ok(())
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .await?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Result<Value> {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Polls `condition` (a function body returning a value) until it returns
    /// something other than null, false, 0 or "", for at most `limit`.
    pub async fn wait_for(&self, what: &str, condition: &str, limit: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let value = self.script(condition, json!([])).await?;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if tokio::time::Instant::now() >= deadline {
                let text = self.text().await.unwrap_or_default();
                bail!("{what}: not within {limit:?}; the page reads:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an element matches `css`.
    pub async fn wait_for_element(&self, css: &str, limit: Duration) -> Result<()> {
        let probe = format!("return document.querySelector({}) !== null;", json!(css));
        self.wait_for(&format!("an element `{css}`"), &probe, limit)
            .await
            .map(|_| ())
    }

    async fn element(&self, css: &str) -> Result<String> {
        let found = self
            .command(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .with_context(|| format!("find `{css}`"))?;
        // The reference's key is the W3C element identifier; read it without spelling it.
        found
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.starts_with("element-")))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element reference for `{css}`"))
    }

    /// Clicks the element matching `css` as a person would (it must be visible).
    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.command("POST", &format!("/element/{id}/click"), None)
            .await
            .with_context(|| format!("click `{css}`"))?;
        Ok(())
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.command("POST", &format!("/element/{id}/clear"), None)
            .await?;
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await?;
        Ok(())
    }

    /// Presses and releases each key of `keys` in turn, as a keyboard would (WebDriver
    /// key codes: `\u{E004}` is Tab, `\u{E007}` Enter).
    pub async fn keys(&self, keys: &str) -> Result<()> {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|k| {
                let k = k.to_string();
                [
                    json!({ "type": "keyDown", "value": k }),
                    json!({ "type": "keyUp", "value": k }),
                ]
            })
            .collect();
        self.command(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await?;
        Ok(())
    }

    /// The text a person sees on the page.
    pub async fn text(&self) -> Result<String> {
        let v = self
            .script("return document.body.innerText;", json!([]))
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The page's HTML as the browser holds it now (after scripts ran).
    pub async fn html(&self) -> Result<String> {
        let v = self
            .script("return document.documentElement.outerHTML;", json!([]))
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Errors and CSP violations the page recorded since it loaded.
    pub async fn page_errors(&self) -> Result<Vec<String>> {
        let v = self
            .script("return window.__tenaxErrors || [];", json!([]))
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Fails if the page recorded an error or a CSP violation.
    pub async fn assert_no_page_errors(&self, screen: &str) -> Result<()> {
        let errors = self.page_errors().await?;
        if !errors.is_empty() {
            bail!("{screen}: the page recorded errors: {errors:#?}");
        }
        Ok(())
    }

    /// Saves a PNG of the whole page as `NAME.png` in every screenshot folder.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        let size = self
            .script(
                "window.scrollTo(0, 0); \
                 return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];",
                json!([]),
            )
            .await?;
        let (w, h) = (
            size[0].as_f64().unwrap_or(1280.0),
            size[1].as_f64().unwrap_or(800.0),
        );
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true,
                        "clip": { "x": 0, "y": 0, "width": w, "height": h.min(6000.0), "scale": 1 } }),
            )
            .await?;
        let png = base64_decode(shot["data"].as_str().context("screenshot data")?)?;
        for dir in &self.shots {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("{name}.png")), &png)?;
        }
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; killing only the driver could leave it.
        if !self.session.is_empty() {
            let _ = delete_session(&self.base, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/ID` with a plain blocking request (Drop cannot await).
fn delete_session(base: &str, session: &str) -> std::io::Result<()> {
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(())
}

/// Where screenshots go: `$CARGO_TARGET_TMPDIR/screenshots`, and `$TENAX_SCREENSHOTS`
/// when set (relative to `worker/cli`, where `cargo test` runs the tests).
fn screenshot_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")];
    if let Some(dir) = std::env::var_os("TENAX_SCREENSHOTS").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Standard base64 (with padding) to bytes.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c).context("not base64")? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}
