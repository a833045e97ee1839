//! Whether a scene's cover changed since it was last uploaded to an item.
//!
//! Plex cannot tell us which image it holds, so the application remembers a hash of the
//! last image it uploaded to each item, as a worker value in the job store
//! (`stash2plex:poster:<ratingKey>`). The value is written only after Plex accepted the
//! upload: a crash before that write uploads the same image again, never skips a new
//! one. The hash detects change, not tampering: 64-bit FNV-1a is plenty and needs no
//! dependency.

/// The store key of an item's last uploaded poster.
pub fn state_key(rating_key: &str) -> String {
    format!("stash2plex:poster:{rating_key}")
}

/// The stored form of an image's hash: 16 hex digits.
pub fn fingerprint(image: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = image
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_stable_and_tells_images_apart() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
        assert_ne!(fingerprint(b"image one"), fingerprint(b"image two"));
        assert_eq!(state_key("12"), "stash2plex:poster:12");
    }
}
