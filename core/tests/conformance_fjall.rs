//! The fjall store against the backend conformance suite.

use tempfile::TempDir;
use tenax_core::conformance::{self, Backend};
use tenax_core::{Durability, ManualClock, Store, StoreOptions};

struct Fjall {
    dir: TempDir,
}

impl Backend for Fjall {
    type Store = Store;

    fn open(&mut self, clock: ManualClock) -> Store {
        let opts = StoreOptions::default()
            .durability(Durability::Buffered)
            .clock(std::sync::Arc::new(clock));
        Store::open(self.dir.path(), opts).expect("open store")
    }
}

#[test]
fn fjall_store_passes_the_conformance_suite() {
    conformance::run_all(|| Fjall {
        dir: tempfile::tempdir().expect("temp dir"),
    });
}
