//! Opening a data directory that cannot be used gives a clear error, never a panic.

use tenax_core::{Error, Store, StoreOptions};

#[test]
fn a_second_opener_is_told_who_holds_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let e = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    match &e {
        Error::Locked { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
        other => panic!("expected Locked, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("in use by process"), "{msg}");
}

#[test]
fn the_directory_is_free_again_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let clone = first.clone();
    first.close().unwrap();
    assert!(
        Store::open(dir.path(), StoreOptions::default()).is_err(),
        "a clone still holds the directory"
    );
    drop(clone);
    Store::open(dir.path(), StoreOptions::default()).unwrap();
}

#[test]
fn a_directory_with_other_files_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let e = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotAStore { .. }), "{e:?}");
    assert!(e.to_string().contains("not a tenax data directory"));
    assert!(dir.path().join("notes.txt").exists());
}

#[test]
fn a_file_in_place_of_the_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, "not a directory").unwrap();
    let e = Store::open(&file, StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("data"), "{e}");
}

#[test]
fn a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), StoreOptions::default()).unwrap());
    std::fs::write(dir.path().join("STORE"), "tenax-store 99\n").unwrap();
    let e = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedFormat {
                found: 99,
                supported: 1
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_garbled_marker_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("STORE"), "something else").unwrap();
    let e = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotAStore { .. }), "{e:?}");
}

#[test]
fn invalid_options_are_refused_before_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("never-created");
    let e = Store::open(&target, StoreOptions::default().crash_limit(0)).unwrap_err();
    assert!(matches!(e, Error::InvalidOptions(_)), "{e:?}");
    assert!(!target.exists());
}
