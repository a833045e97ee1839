//! The application as the commands see it: its name, its part of the configuration,
//! and its handler factories with the section's type erased.

use std::sync::Arc;

use tenax_core::JobStore;
use tenax_policies::LivePolicy;
use tenax_worker::{Handler, HealthProbe};

use crate::config::Extension;

/// An error a factory returns; the daemon refuses to start with it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a factory is called with, for one queue.
pub(crate) struct QueueParts {
    pub(crate) queue: String,
    pub(crate) policy: LivePolicy,
    pub(crate) store: Arc<dyn JobStore>,
}

pub(crate) type MakeHandler =
    Arc<dyn Fn(&QueueParts) -> Result<Arc<dyn Handler>, BoxError> + Send + Sync>;
pub(crate) type MakeProbe =
    Arc<dyn Fn(&QueueParts) -> Result<Arc<dyn HealthProbe>, BoxError> + Send + Sync>;

/// A daemon's shape: `tenax` itself is the default (the HTTP handler alone).
#[derive(Clone)]
pub(crate) struct Application {
    /// The command's name, in usage, completions and messages.
    pub(crate) name: String,
    /// The command's one-line description; `None`: tenax's.
    pub(crate) about: Option<String>,
    /// The version `--version` prints; `None`: tenax's.
    pub(crate) version: Option<String>,
    /// The configuration's application part.
    pub(crate) extension: Extension,
    /// The application's kinds, in registration order, with their factories.
    pub(crate) handlers: Vec<(String, MakeHandler)>,
    /// The health probe's factory.
    pub(crate) probe: Option<MakeProbe>,
}

impl Default for Application {
    fn default() -> Self {
        Application {
            name: "tenax".to_owned(),
            about: None,
            version: None,
            extension: Extension::default(),
            handlers: Vec::new(),
            probe: None,
        }
    }
}

impl Application {
    /// The command line `command` (tenax's) under this application's name.
    pub(crate) fn command(&self, command: clap::Command) -> clap::Command {
        let mut command = command.name(self.name.clone()).bin_name(self.name.clone());
        if let Some(about) = &self.about {
            command = command.about(about.clone());
        }
        if let Some(version) = &self.version {
            command = command.version(version.clone());
        }
        command
    }

    /// Whether this is `tenax` alone (no application kinds).
    pub(crate) fn is_plain(&self) -> bool {
        self.handlers.is_empty()
    }
}
