//! A content fingerprint for policy files: FNV-1a, 64 bits, as 16 hex digits.
//!
//! It only has to tell "this file changed" apart from "this file is the one running";
//! it is not a defence against anyone, so a small well-known hash will do.

/// The FNV-1a 64-bit hash of `bytes`, as 16 lowercase hex digits.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_vectors() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
        assert_eq!(fingerprint(b"foobar"), "85944171f73967e8");
    }
}
