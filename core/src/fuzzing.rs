//! Entry points for the fuzz targets in `core/fuzz`, compiled only under `--cfg fuzzing`
//! (which `cargo fuzz` sets). Each one feeds arbitrary bytes to a decoder of what the
//! store reads back from disk and checks what must hold for any input: no panic, and a
//! record that decodes re-encodes to the same value.

use crate::JobId;
use crate::codec::{decode_job, encode_job};
use crate::counts::QueueCounts;
use crate::keys;

/// Decodes `bytes` as a job record, a counts record and each kind of index key.
pub fn stored_bytes(bytes: &[u8]) {
    let id = JobId::new(0x0102_0304_0506_0708);
    if let Ok(job) = decode_job(id, bytes) {
        let again = decode_job(id, &encode_job(&job));
        assert_eq!(
            again.as_ref(),
            Ok(&job),
            "a decoded job re-encodes to itself"
        );
    }
    if let Ok(counts) = QueueCounts::decode(bytes) {
        assert_eq!(QueueCounts::decode(&counts.encode()), Ok(counts));
    }
    if let Some(id) = keys::parse_job(bytes) {
        assert_eq!(keys::job(id).as_slice(), bytes);
    }
    if let Some((id, token)) = keys::parse_running(bytes) {
        assert_eq!(keys::running(id, token).as_slice(), bytes);
    }
    if let Some((at, id)) = keys::parse_dead(bytes) {
        assert_eq!(keys::dead(at, id).as_slice(), bytes);
    }
    // A due key starts with its queue's name and a NUL; take the name from the input.
    if let Some(nul) = bytes.iter().position(|b| *b == 0)
        && let Ok(queue) = std::str::from_utf8(&bytes[..nul])
        && let Some(pos) = keys::parse_due(bytes, queue)
    {
        assert_eq!(keys::due(queue, pos), bytes);
    }
}
