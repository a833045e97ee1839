//! Opening a data directory: lock, format check, engine, counters, rescue.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::{Arc, Mutex};

use event_listener::Event;
use fjall::{Database, KeyspaceCreateOptions, PersistMode};

use super::{Keyspaces, Shared, Store, WriteState, committer, maintenance};
use crate::group_commit::GroupCommit;
use crate::keys;
use crate::lock::DirLock;
use crate::{Error, QueueCounts, Result, StoreOptions};

/// Version of the directory layout and key scheme written by this build.
pub(crate) const STORE_FORMAT: u32 = 1;
const MARKER: &str = "STORE";
const MARKER_PREFIX: &str = "tenax-store ";
const ENGINE_DIR: &str = "db";

pub(super) fn open(dir: &Path, opts: StoreOptions) -> Result<Store> {
    opts.validate()?;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock = DirLock::acquire(dir)?;
    let fresh = check_marker(dir)?;

    let engine_path = dir.join(ENGINE_DIR);
    if fresh {
        // A creation that was killed part-way may have left an engine directory behind
        // (only ever next to our STORE.tmp, see `check_marker`): start it over.
        let tmp = dir.join(MARKER).with_extension("tmp");
        write_temp_marker(&tmp).map_err(|e| Error::io(&tmp, e))?;
        if engine_path.exists() {
            fs::remove_dir_all(&engine_path).map_err(|e| Error::io(&engine_path, e))?;
        }
    }
    let db = Database::builder(&engine_path)
        .cache_size(opts.cache_bytes)
        // Bounds both the disk the journal may take and the replay time at open.
        .max_journaling_size(64 << 20)
        .open()
        .map_err(|e| Error::engine("open storage engine", e))?;
    let ks = open_keyspaces(&db)?;
    let mut st = WriteState::default();
    load_meta(&ks, &mut st)?;
    if fresh {
        // The marker is the last step of creation: a directory without it never holds
        // acknowledged jobs, so a creation cut short by a crash is simply redone.
        db.persist(PersistMode::SyncAll)
            .map_err(|e| Error::engine("sync new store", e))?;
        let marker = dir.join(MARKER);
        commit_marker(&marker).map_err(|e| Error::io(&marker, e))?;
    }

    let space = crate::space::SpaceGuard::new(dir, opts.min_free_bytes);
    let shared = Arc::new(Shared {
        dir: dir.to_owned(),
        db,
        ks,
        space,
        opts,
        write: Mutex::new(st),
        group: GroupCommit::default(),
        work: Event::new(),
        state_changed: Event::new(),
        buckets: std::sync::Mutex::new(std::collections::HashMap::new()),
        _lock: lock,
    });
    shared.rescue()?;
    shared.sync_all()?;
    let committer = {
        let shared = shared.clone();
        committer::Committer::start(Arc::new(move |requests| shared.write_durably(requests)))
            .map_err(|e| Error::io(dir, e))?
    };
    let maintenance =
        maintenance::Maintenance::start(shared.clone()).map_err(|e| Error::io(dir, e))?;
    Ok(Store {
        shared,
        committer: Arc::new(committer),
        _maintenance: Arc::new(maintenance),
    })
}

/// Refuses directories that hold something other than a tenax store, and stores written
/// by a newer format. Returns whether the store is to be created.
///
/// A fresh directory may hold our lock file, and what a killed creation leaves: the
/// temporary marker and, only next to it, a partly created engine directory.
fn check_marker(dir: &Path) -> Result<bool> {
    let marker = dir.join(MARKER);
    match fs::read_to_string(&marker) {
        Ok(text) => {
            let found = text
                .trim()
                .strip_prefix(MARKER_PREFIX)
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or_else(|| Error::NotAStore {
                    path: dir.to_owned(),
                })?;
            if found > STORE_FORMAT {
                return Err(Error::UnsupportedFormat {
                    found,
                    supported: STORE_FORMAT,
                });
            }
            Ok(false)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let tmp_name = format!("{MARKER}.tmp");
            let names: Vec<_> = fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<_>>()
                .map_err(|e| Error::io(dir, e))?;
            let creating = names.iter().any(|n| *n == *tmp_name);
            let ours = |n: &std::ffi::OsString| {
                n == "tenax.lock" || *n == *tmp_name || (creating && n == ENGINE_DIR)
            };
            if !names.iter().all(ours) {
                return Err(Error::NotAStore {
                    path: dir.to_owned(),
                });
            }
            Ok(true)
        }
        Err(e) => Err(Error::io(&marker, e)),
    }
}

fn write_temp_marker(tmp: &Path) -> std::io::Result<()> {
    fs::write(tmp, format!("{MARKER_PREFIX}{STORE_FORMAT}\n"))?;
    fs::File::open(tmp)?.sync_all()?;
    sync_parent(tmp)
}

fn commit_marker(marker: &Path) -> std::io::Result<()> {
    fs::rename(marker.with_extension("tmp"), marker)?;
    sync_parent(marker)
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) => fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

fn open_keyspaces(db: &Database) -> Result<Keyspaces> {
    let open = |name: &str, memtable: u64| {
        db.keyspace(name, || {
            KeyspaceCreateOptions::default().max_memtable_size(memtable)
        })
        .map_err(|e| Error::engine("open keyspace", e))
    };
    Ok(Keyspaces {
        jobs: open("jobs", 16 << 20)?,
        due: open("due", 8 << 20)?,
        running: open("running", 4 << 20)?,
        dead: open("dead", 4 << 20)?,
        dedup: open("dedup", 4 << 20)?,
        meta: open("meta", 4 << 20)?,
    })
}

fn load_meta(ks: &Keyspaces, st: &mut WriteState) -> Result<()> {
    let read = |k: &str| ks.meta.get(k).map_err(|e| Error::engine("read meta", e));
    if let Some(v) = read(keys::META_SEQ)? {
        let bytes: [u8; 8] = v[..]
            .try_into()
            .map_err(|_| Error::corrupt(None, "bad sequence record"))?;
        st.seq = u64::from_be_bytes(bytes);
    }
    match read(keys::META_FORMAT)? {
        Some(v) => {
            let found = v
                .first()
                .copied()
                .ok_or_else(|| Error::corrupt(None, "empty format record"))?;
            if u32::from(found) > STORE_FORMAT {
                return Err(Error::UnsupportedFormat {
                    found: u32::from(found),
                    supported: STORE_FORMAT,
                });
            }
        }
        None => ks
            .meta
            .insert(keys::META_FORMAT, [STORE_FORMAT as u8])
            .map_err(|e| Error::engine("write format", e))?,
    }
    for item in ks.meta.prefix(keys::META_COUNTS) {
        let (k, v) = item
            .into_inner()
            .map_err(|e| Error::engine("read counters", e))?;
        let queue = std::str::from_utf8(&k[keys::META_COUNTS.len()..])
            .map_err(|_| Error::corrupt(None, "queue name in counters is not UTF-8"))?;
        let counts = QueueCounts::decode(&v)
            .map_err(|e| Error::corrupt(None, format!("counters of queue {queue}: {}", e.0)))?;
        st.counts.insert(queue.to_owned(), counts);
    }
    Ok(())
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Best effort: lazily flushed transitions reach the disk on an orderly exit.
        let _ = self.db.persist(PersistMode::SyncData);
    }
}
