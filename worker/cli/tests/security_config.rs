//! Hostile configuration files get a clear error (exit 1), never a panic (exit 101).

mod support;

use support::daemon::tenax;

fn check(bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tenax.toml");
    std::fs::write(&file, bytes).expect("write");
    let (code, _, err) = tenax(&["config", "check", file.to_str().expect("utf-8")]);
    (code, err)
}

#[test]
fn hostile_configuration_files_are_refused_cleanly() {
    let mut x: u32 = 0x2545_f491;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random),
        ("NULs", b"data_dir = \"a\0b\"\n\0\0\0".to_vec()),
        (
            "deep arrays",
            format!("[a]\nx = {}", "[".repeat(10_000)).into_bytes(),
        ),
        (
            "deep inline tables",
            format!("worker = {}", "{ a = ".repeat(5_000)).into_bytes(),
        ),
        (
            "huge file",
            format!("# {}\nbogus = 1\n", "x".repeat(4 << 20)).into_bytes(),
        ),
        (
            "wrong types everywhere",
            b"data_dir = 5\n[api]\naddr = []\n[worker]\nconcurrency = -1\n".to_vec(),
        ),
        (
            "huge numbers",
            b"[worker]\nconcurrency = 99999999999999999999999\n".to_vec(),
        ),
        (
            "negative duration",
            b"[worker]\nshutdown_grace = -5\n".to_vec(),
        ),
        (
            "duplicate keys",
            b"data_dir = \"a\"\ndata_dir = \"b\"\n".to_vec(),
        ),
        ("not UTF-8", vec![0xff, 0xfe, b'a', b'=', b'1']),
    ];
    for (what, bytes) in cases {
        let (code, err) = check(&bytes);
        assert_eq!(
            code,
            1,
            "{what}: exit code {code}, stderr: {}",
            &err[..err.len().min(500)]
        );
        assert!(
            err.starts_with("tenax: "),
            "{what}: a clear message: {}",
            &err[..err.len().min(500)]
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}
