//! Retry, backoff and circuit-breaker policies for tenax, written as small Rhai scripts.
//!
//! The Rust code owns the default policy and the bounds of every value
//! ([`defaults`]). A script evaluates to a map that overrides some of them, and may define
//! a `delay` function (adjust a retry's delay, or say `"dead"`) and a `classify` function
//! (map a status or network failure to an error class). Loading a script checks it
//! against the Rust defaults: unknown keys are errors with a suggestion, missing keys take
//! the defaults, every value is range-checked, and the functions are tried on sample
//! inputs. Scripts run in a sandbox with no file, network or process access.
//!
//! Deciding is a pure function of (policy, failure, random draw); the caller owns the
//! clock and the random source. [`LivePolicy`] and [`PolicyWatcher`] swap in a new
//! policy when the file changes, keeping the last good one on a bad edit.
//!
//! ```
//! use tenax_policies::{CompiledPolicy, Decision, ErrorClass, Failure};
//!
//! let script = r#"
//!     #{
//!         classes: #{
//!             not_found: #{ base: "1m", cap: "30m", max_retries: 24 },
//!         },
//!     }
//! "#;
//! let policy = CompiledPolicy::load_str(script, "media-server.rhai")?;
//!
//! // The third failure of a job whose item the downstream has not indexed yet:
//! // 1 min doubled twice, and a draw of 0 keeps the full delay.
//! let failure = Failure::new(&ErrorClass::NOT_FOUND, 3).status(404);
//! let decision = policy.decide(&failure, 0.0);
//! assert_eq!(decision, Decision::Retry { delay: std::time::Duration::from_secs(240) });
//! assert!(!policy.counts_toward_breaker(&ErrorClass::NOT_FOUND));
//! # Ok::<(), tenax_policies::PolicyError>(())
//! ```

mod class;
mod classify;
mod compiled;
mod curve;
mod decide;
pub mod defaults;
mod duration;
mod error;
mod hash;
mod live;
mod locate;
mod policy;
mod reader;
mod report;
mod report_text;
mod samples;
mod sandbox;
mod script;
mod settings;
mod suggest;
mod watch;

pub use crate::{
    class::{ErrorClass, MAX_CLASS_NAME_LEN},
    classify::{Cause, ClassifyInput, NetworkFailure},
    compiled::CompiledPolicy,
    curve::{Curve, CurveLimits, CurvePoint},
    decide::{BuryReason, Decision, Failure},
    duration::format as format_duration,
    error::{Location, PolicyError, Result},
    live::{LivePolicy, LoadedPolicy, ReloadEvent, ReloadFailure, ReloadStatus, Reloaded},
    policy::{Policy, PolicyBuilder},
    report::{CheckReport, Schedule, ScheduleEnd, ScheduleRow, SettingRow, Span},
    settings::{BreakerSettings, ClassPolicy, RateLimit, RecoveryRamp},
    suggest::nearest_key,
    watch::{PolicyWatcher, WatchOptions},
};
