//! A data directory damaged the way disks and people damage them: a torn or garbage
//! journal tail, stray files. Open recovers what is valid or fails with a clear error;
//! never a panic, and never silent loss of jobs before the damage.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tenax_core::{DEFAULT_QUEUE, NewJob, Store, StoreOptions};

const JOBS: u64 = 50;

/// A closed store holding `JOBS` jobs, one durable enqueue each.
fn filled() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
    for i in 0..JOBS {
        store
            .enqueue(NewJob::new("t", format!("{{\"n\":{i}}}").into_bytes()))
            .expect("enqueue");
    }
    store.close().expect("close");
    dir
}

/// The newest journal file and the end of its written part (journals are pre-allocated
/// and zero-filled beyond it).
fn journal(dir: &Path) -> (PathBuf, u64) {
    let mut journals: Vec<PathBuf> = std::fs::read_dir(dir.join("db"))
        .expect("db dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jnl"))
        .collect();
    journals.sort();
    let path = journals.pop().expect("a journal file");
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .expect("journal")
        .read_to_end(&mut bytes)
        .expect("read journal");
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1) as u64;
    (path, end)
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open journal");
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("sync");
}

fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as u8) | 1
        })
        .collect()
}

/// Jobs the reopened store holds, or the open error as text.
fn reopen(dir: &Path) -> Result<u64, String> {
    let store = Store::open(dir, StoreOptions::default()).map_err(|e| e.to_string())?;
    let counts = store.stats().map_err(|e| e.to_string())?.queues[DEFAULT_QUEUE].counts;
    let claimed = store
        .claim(DEFAULT_QUEUE, 1_000)
        .map_err(|e| e.to_string())?;
    assert_eq!(
        claimed.len() as u64,
        counts.waiting,
        "counters agree with the data"
    );
    Ok(counts.waiting)
}

#[test]
fn garbage_after_the_last_record_is_ignored() {
    let dir = filled();
    let (path, end) = journal(dir.path());
    overwrite(&path, end, &garbage(4096));
    assert_eq!(
        reopen(dir.path()),
        Ok(JOBS),
        "every acknowledged job survives"
    );
}

#[test]
fn a_torn_last_record_loses_at_most_that_record() {
    let dir = filled();
    let (path, end) = journal(dir.path());
    overwrite(&path, end.saturating_sub(12), &garbage(12));
    let result = reopen(dir.path());
    eprintln!("reopened after damage: {result:?}");
    match result {
        Ok(n) => assert!(n >= JOBS - 1, "only the torn batch may be gone, kept {n}"),
        Err(e) => assert!(!e.is_empty(), "a clear error"),
    }
}

#[test]
fn a_journal_cut_short_still_opens() {
    let dir = filled();
    let (path, end) = journal(dir.path());
    let f = OpenOptions::new().write(true).open(&path).expect("journal");
    f.set_len(end.saturating_sub(5)).expect("truncate");
    let result = reopen(dir.path());
    eprintln!("reopened after damage: {result:?}");
    match result {
        Ok(n) => assert!(n >= JOBS - 1, "kept {n}"),
        Err(e) => assert!(!e.is_empty(), "a clear error"),
    }
}

#[test]
fn stray_files_do_not_disturb_the_store() {
    let dir = filled();
    std::fs::write(dir.path().join("notes.txt"), "operator notes").expect("write");
    std::fs::write(dir.path().join("db").join("stray.bin"), garbage(100)).expect("write");
    std::fs::write(dir.path().join("db").join("keyspaces").join("stray"), b"x").expect("write");
    assert_eq!(reopen(dir.path()), Ok(JOBS));
}
