//! [`HttpHandler`]: sends a job's request and sorts a failed one into an error class.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Response, Url};
use tenax_policies::{ClassifyInput, CompiledPolicy, ErrorClass, LivePolicy, NetworkFailure};

use super::target::Targets;
use super::{AllowedBases, HttpBody, HttpConfig, HttpRequest, RequestError};
use super::{network, redirect, retry_after, snippet};
use crate::{Error, Handler, HandlerError, HandlerFuture, JobRun, Result};

/// Runs jobs whose payload is an [`HttpRequest`].
///
/// A 2xx response completes the job. Anything else becomes a [`HandlerError`] whose
/// class the policy chooses (its `classify` function, then the built-in table), with
/// the status, the start of the body in the message, and the `Retry-After` hint.
/// A payload that is not a request, or whose URL is outside the allowed bases, is
/// `permanent` and nothing is sent.
///
/// Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct HttpHandler {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    allowed: Arc<AllowedBases>,
    targets: Arc<Targets>,
    config: HttpConfig,
    policy: LivePolicy,
}

impl HttpHandler {
    /// A handler with `config`, classifying failures with the policy the worker decides
    /// the attempt with ([`JobRun::policy`]), so class and decision come from one load;
    /// `policy` is loaded instead for a run made outside a worker or the harness.
    ///
    /// Fails with [`Error::Config`] for a bad setting or allowed base URL, and with
    /// [`Error::HttpClient`] if the TLS client cannot be built.
    pub fn new(config: HttpConfig, policy: LivePolicy) -> Result<Self> {
        config.validate()?;
        let targets = Arc::new(Targets::new(config.targets.clone()));
        let allowed = targets
            .bases()
            .fold(AllowedBases::parse(&config.allowed_bases)?, |list, base| {
                list.with(base.clone())
            });
        let allowed = Arc::new(allowed);
        // Another part of the process may have installed a provider first; either way
        // one is installed afterwards, which is all reqwest needs.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .user_agent(config.user_agent.as_str())
            .connect_timeout(config.connect_timeout)
            .redirect(redirect::policy(Arc::clone(&allowed), Arc::clone(&targets)))
            .build()
            .map_err(|e| Error::HttpClient(error_chain(&e)))?;
        let inner = Inner {
            client,
            allowed,
            targets,
            config,
            policy,
        };
        Ok(HttpHandler {
            inner: Arc::new(inner),
        })
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The parsed allow-list, the targets' bases included.
    pub fn allowed_bases(&self) -> &AllowedBases {
        &self.inner.allowed
    }

    /// Checks `request` as enqueueing would: its syntax, its URL against the allowed
    /// bases, and its timeout against `max_timeout`.
    pub fn check(&self, request: &HttpRequest) -> Result<(), RequestError> {
        request.check()?;
        let url = self.inner.allowed.check(request)?;
        if let Some(target) = self.inner.targets.of(&url) {
            let owned = target.header_names().collect::<Vec<_>>();
            if let Some(name) = request
                .headers()
                .keys()
                .find(|n| owned.iter().any(|o| n.eq_ignore_ascii_case(o)))
            {
                return Err(RequestError::TargetHeader {
                    name: name.clone(),
                    base: target.base().as_str().to_owned(),
                });
            }
        }
        match request.request_timeout() {
            Some(t) if t > self.inner.config.max_timeout => Err(RequestError::Timeout(format!(
                "{} exceeds the maximum of {}",
                humantime::format_duration(t),
                humantime::format_duration(self.inner.config.max_timeout),
            ))),
            _ => Ok(()),
        }
    }
}

impl Handler for HttpHandler {
    fn handle(&self, job: JobRun) -> HandlerFuture {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            // One load per attempt, and none at all inside a worker: it gave us its own.
            let loaded;
            let policy = match job.policy() {
                Some(policy) => policy,
                None => {
                    loaded = inner.policy.load();
                    loaded.compiled()
                }
            };
            inner.run(&job.payload, policy).await
        })
    }

    fn validate(&self, payload: &[u8]) -> Result<(), HandlerError> {
        let request = HttpRequest::from_payload(payload).map_err(refused)?;
        self.check(&request).map_err(refused)
    }
}

impl Inner {
    async fn run(&self, payload: &[u8], policy: &CompiledPolicy) -> Result<(), HandlerError> {
        let request = HttpRequest::from_payload(payload).map_err(refused)?;
        // NOTE: checked again at every attempt: the allow-list may have shrunk since the
        // job was enqueued, and nothing outside it may ever be sent.
        let url = self.allowed.check(&request).map_err(refused)?;
        let mut headers = request.header_map().map_err(refused)?;
        // NOTE: the target's headers replace any the job has (a job stored before the
        // target was configured): the configured credential is the one sent.
        let target = self.targets.of(&url);
        if let Some(target) = target {
            target.apply(&mut headers);
        }
        let timeout = request
            .request_timeout()
            .unwrap_or(self.config.default_timeout)
            .min(self.config.max_timeout);
        let result = match self.send(&request, url, headers, timeout).await {
            Ok(response) => self.judge(response, policy).await,
            Err(err) => Err(self.network_error(&err, timeout, policy)),
        };
        // A downstream may echo a credential in its error body.
        result.map_err(|mut error| {
            if let Some(target) = target {
                error.message = target.scrub(&error.message);
            }
            error
        })
    }

    async fn send(
        &self,
        request: &HttpRequest,
        url: Url,
        headers: HeaderMap,
        timeout: Duration,
    ) -> reqwest::Result<Response> {
        let builder = self
            .client
            .request(request.method().clone(), url)
            .headers(headers)
            .timeout(timeout);
        let builder = match request.body() {
            Some(HttpBody::Json(value)) => builder.json(value),
            Some(HttpBody::Text(text)) => builder.body(text.clone()),
            None => builder,
        };
        builder.send().await
    }

    /// Success for 2xx, else a classified error with the status, snippet and hint.
    async fn judge(
        &self,
        mut response: Response,
        policy: &CompiledPolicy,
    ) -> Result<(), HandlerError> {
        let status = response.status();
        if status.is_success() {
            snippet::drain(&mut response, self.config.max_response_bytes).await;
            return Ok(());
        }
        let hint = retry_after::from_headers(response.headers());
        let want = self.config.snippet_bytes;
        let (bytes, ended) =
            snippet::read_prefix(&mut response, want, self.config.max_response_bytes).await;
        let text = snippet::snippet(&bytes, ended, want);
        let input = ClassifyInput::status(status.as_u16(), &text);
        let Some(class) = policy.classify_or_default(&input) else {
            return Ok(());
        };
        let mut error = HandlerError::new(class, snippet::status_message(status, &text))
            .with_status(status.as_u16());
        if let Some(hint) = hint {
            error = error.with_retry_after(hint);
        }
        Err(error)
    }

    fn network_error(
        &self,
        err: &reqwest::Error,
        timeout: Duration,
        policy: &CompiledPolicy,
    ) -> HandlerError {
        let kind = network::network_failure(err);
        let what = match kind {
            NetworkFailure::ConnectRefused => "connection refused".to_owned(),
            NetworkFailure::Dns => "host name lookup failed".to_owned(),
            NetworkFailure::Unreachable => "host unreachable".to_owned(),
            NetworkFailure::Timeout => {
                format!("timed out after {}", humantime::format_duration(timeout))
            }
            NetworkFailure::ConnectionReset => {
                "connection closed before the response ended".to_owned()
            }
            NetworkFailure::Tls => "TLS handshake failed".to_owned(),
            _ => "request failed".to_owned(),
        };
        let mut cause = error_chain(err);
        // NOTE: reqwest's message quotes the URL, query string included.
        if let Some(url) = err.url() {
            cause = super::redact::redact_url_in(&cause, url.as_str());
        }
        let message = format!("{what} ({}): {cause}", kind.as_str());
        let input = ClassifyInput::network(kind, &message);
        let class = policy.classify_or_default(&input);
        HandlerError::new(class.unwrap_or(ErrorClass::TRANSIENT), message)
    }
}

/// A refused request: retrying cannot make it valid.
fn refused(err: RequestError) -> HandlerError {
    HandlerError::permanent(err.to_string())
}

/// `err` and its causes, joined with `: `; reqwest's own message omits the causes.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}
