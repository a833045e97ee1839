//! `stash2plex`: the tenax daemon with the stash2plex job kinds, its `[stash2plex]`
//! configuration section and a health probe of Plex and Stash. Every tenax command works
//! (`stash2plex run`, `stats`, `dlq`, `config check`, ...).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use stash2plex::{App, PlexReconcile, PlexSync, RECONCILE_KIND, SYNC_KIND, SyncConfig};
use tenax::{BoxError, Daemon, HandlerContext};
use tenax_worker::probe_fn;

fn main() -> ExitCode {
    let apps = Apps::default();
    let (sync, reconcile, probe) = (apps.clone(), apps.clone(), apps);
    Daemon::builder()
        .name("stash2plex")
        .about(
            "Stash scene metadata synced to Plex, with retries, a circuit breaker and dead letters",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .section::<SyncConfig>("stash2plex")
        .handler(SYNC_KIND, move |ctx: &HandlerContext<SyncConfig>| {
            Ok(PlexSync::new(sync.of(ctx)?))
        })
        .handler(RECONCILE_KIND, move |ctx: &HandlerContext<SyncConfig>| {
            Ok(PlexReconcile::new(reconcile.of(ctx)?))
        })
        .health_probe(move |ctx: &HandlerContext<SyncConfig>| {
            let app = probe.of(ctx)?;
            Ok(probe_fn(move || {
                let app = Arc::clone(&app);
                async move { app.probe().await }
            }))
        })
        .main()
}

/// One application per served queue, shared by its two handlers and its probe, so that
/// they share one Plex catalogue and one connection pool.
#[derive(Clone, Default)]
struct Apps(Arc<Mutex<HashMap<String, Arc<App>>>>);

impl Apps {
    fn of(&self, ctx: &HandlerContext<SyncConfig>) -> Result<Arc<App>, BoxError> {
        let mut apps = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(app) = apps.get(ctx.queue()) {
            return Ok(Arc::clone(app));
        }
        let app = App::new(ctx.section().settings(), ctx.store())?;
        apps.insert(ctx.queue().to_owned(), Arc::clone(&app));
        Ok(app)
    }
}
