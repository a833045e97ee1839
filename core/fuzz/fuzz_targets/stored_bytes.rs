//! Arbitrary bytes as a stored job record, counts record and index key.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    tenax_core::fuzzing::stored_bytes(bytes);
});
