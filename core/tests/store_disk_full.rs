//! A full disk: enqueue fails with a clear error, nothing stored before is lost, and the
//! store works again once space is freed.
//!
//! Runs on a small tmpfs mounted for the test, which needs root (CI runs as root). Where
//! mounting is impossible the test says so on stderr and returns without checking.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tenax_core::{Error, ManualClock, NewJob, Store, StoreOptions, Timestamp};

/// A tmpfs of a fixed size, unmounted on drop.
struct SmallDisk {
    _parent: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().expect("temp dir");
        let mount = parent.path().join("disk");
        std::fs::create_dir(&mount).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED store_disk_full: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk {
            _parent: parent,
            mount,
        })
    }

    fn path(&self) -> &Path {
        &self.mount
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

fn options(reserve: u64) -> StoreOptions {
    let clock = ManualClock::new(Timestamp::from_millis(1_700_000_000_000));
    StoreOptions::default()
        .min_free_bytes(reserve)
        .clock(Arc::new(clock))
}

/// 32 KiB that do not compress, so the disk fills at the rate the test expects.
fn payload() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..32 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Enqueues until the first error; returns how many were acknowledged and the error.
fn fill(store: &Store) -> (u64, Error) {
    let mut acked = 0;
    loop {
        match store.enqueue(NewJob::new("fill", payload())) {
            Ok(_) => acked += 1,
            Err(e) => return (acked, e),
        }
        assert!(acked < 10_000, "the disk never filled up");
    }
}

#[test]
fn the_reserve_refuses_enqueues_and_keeps_the_queue_draining() {
    let Some(disk) = SmallDisk::mount("256m") else {
        return;
    };
    let dir = disk.path().join("store");
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, payload().repeat(2 << 10)).expect("64 MiB of ballast");
    let store = Store::open(&dir, options(96 << 20)).expect("open");
    let (acked, e) = fill(&store);
    assert!(acked > 10, "only {acked} jobs fit");
    assert!(matches!(e, Error::DiskFull { .. }), "got {e:?}");
    assert!(e.to_string().contains("free space"), "{e}");

    // Everything acknowledged is there, and the worker side still works.
    assert_eq!(store.stats().expect("stats").total.waiting, acked);
    let claimed = store.claim("default", 5).expect("claim under the reserve");
    for c in &claimed {
        store
            .complete(&c.lease, None)
            .expect("complete under the reserve");
    }
    let refused = store.enqueue(NewJob::new("more", payload()));
    assert!(
        matches!(refused, Err(Error::DiskFull { .. })),
        "{refused:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let refused = runtime.block_on(store.enqueue_async(NewJob::new("more", payload())));
    assert!(
        matches!(refused, Err(Error::DiskFull { .. })),
        "an async enqueue is refused alike: {refused:?}"
    );

    // The operator frees space: enqueues are accepted at once, no restart needed.
    std::fs::remove_file(&ballast).expect("free space");
    store
        .enqueue(NewJob::new("after", payload()))
        .expect("accepts work again once space is freed");
    drop(store);

    let store = Store::open(&dir, options(96 << 20)).expect("reopen");
    let t = store.stats().expect("stats").total;
    assert_eq!((t.waiting, t.completed), (acked - 5 + 1, 5));
}

#[test]
fn a_real_enospc_loses_nothing_and_reopening_recovers() {
    let Some(disk) = SmallDisk::mount("256m") else {
        return;
    };
    let dir = disk.path().join("store");
    let ballast = disk.path().join("ballast");
    std::fs::write(&ballast, vec![0u8; 64 << 20]).expect("ballast");
    let store = Store::open(&dir, options(0)).expect("open without a reserve");
    let (acked, e) = fill(&store);
    assert!(acked > 10, "only {acked} jobs fit");
    assert!(
        e.to_string().contains("disk full"),
        "a full disk must say so, got {e}"
    );
    drop(store);

    std::fs::remove_file(&ballast).expect("free space");
    let store = Store::open(&dir, options(0)).expect("reopen after freeing space");
    let t = store.stats().expect("stats").total;
    assert!(
        t.waiting >= acked,
        "acknowledged jobs lost: {} < {acked}",
        t.waiting
    );
    store
        .enqueue(NewJob::new("after", b"{}".to_vec()))
        .expect("accepts work again");
}
