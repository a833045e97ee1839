//! Versioned binary encoding of stored records.
//!
//! Every record starts with a version byte so a later release can read what this one
//! wrote: decoders match on it and keep the old arms. Integers are LEB128 varints,
//! strings and byte strings are length-prefixed, options carry a 0/1 tag.

use crate::{Job, JobError, JobId, Timestamp, attempt};

/// The first job record layout: read, no longer written.
pub(crate) const JOB_RECORD_V1: u8 = 1;
/// Version of the job record layout written by this build: v1 followed by the attempt
/// history.
pub(crate) const JOB_RECORD_V2: u8 = 2;

/// A decoding failure; the caller adds which record it was.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) &'static str);

pub(crate) type Decoded<T> = std::result::Result<T, DecodeError>;

#[derive(Default)]
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Writer(Vec::with_capacity(n))
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    pub(crate) fn varint(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u8(0),
            Some(s) => self.u8(1).str(s),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader(b)
    }

    pub(crate) fn u8(&mut self) -> Decoded<u8> {
        let (&first, rest) = self.0.split_first().ok_or(DecodeError("truncated"))?;
        self.0 = rest;
        Ok(first)
    }

    pub(crate) fn varint(&mut self) -> Decoded<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(DecodeError("varint overflows u64"));
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint too long"))
    }

    pub(crate) fn u32(&mut self) -> Decoded<u32> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError("value overflows u32"))
    }

    pub(crate) fn bytes(&mut self) -> Decoded<&'a [u8]> {
        let len = usize::try_from(self.varint()?).map_err(|_| DecodeError("length overflow"))?;
        if len > self.0.len() {
            return Err(DecodeError("length runs past the end"));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn string(&mut self) -> Decoded<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError("string is not UTF-8"))
    }

    pub(crate) fn opt_string(&mut self) -> Decoded<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            _ => Err(DecodeError("bad option tag")),
        }
    }

    pub(crate) fn timestamp(&mut self) -> Decoded<Timestamp> {
        self.varint().map(Timestamp::from_millis)
    }

    pub(crate) fn end(&self) -> Decoded<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError("trailing bytes"))
        }
    }
}

/// Encodes a job record (the id lives in the key, not the value).
#[cfg(any(test, fuzzing))]
pub(crate) fn encode_job(job: &Job) -> Vec<u8> {
    encode_job_into(job, Vec::new())
}

/// [`encode_job`] into `buf` (cleared first), so a batch can reuse one buffer: the
/// storage engine copies the bytes anyway.
pub(crate) fn encode_job_into(job: &Job, mut buf: Vec<u8>) -> Vec<u8> {
    buf.clear();
    buf.reserve(48 + job.payload.len() + job.queue.len() + job.kind.len());
    let mut w = Writer(buf);
    w.u8(JOB_RECORD_V2)
        .str(&job.queue)
        .str(&job.kind)
        .bytes(&job.payload)
        .opt_str(job.dedup_key.as_deref())
        .varint(u64::from(job.attempt))
        .varint(u64::from(job.crashes))
        .varint(job.run_at.as_millis())
        .varint(job.enqueued_at.as_millis());
    match &job.last_error {
        None => {
            w.u8(0);
        }
        Some(e) => {
            w.u8(1)
                .str(&e.class)
                .str(&e.message)
                .varint(e.at.as_millis());
        }
    }
    match job.dead_at {
        None => w.u8(0),
        Some(t) => w.u8(1).varint(t.as_millis()),
    };
    attempt::encode(&mut w, &job.attempts);
    w.finish()
}

/// Decodes a job record stored under `id`.
pub(crate) fn decode_job(id: JobId, bytes: &[u8]) -> Decoded<Job> {
    let mut r = Reader::new(bytes);
    let version = r.u8()?;
    if version != JOB_RECORD_V1 && version != JOB_RECORD_V2 {
        return Err(DecodeError("unknown record version"));
    }
    let mut job = Job {
        id,
        queue: r.string()?,
        kind: r.string()?,
        payload: r.bytes()?.to_vec(),
        dedup_key: r.opt_string()?,
        attempt: r.u32()?,
        crashes: r.u32()?,
        run_at: r.timestamp()?,
        enqueued_at: r.timestamp()?,
        last_error: match r.u8()? {
            0 => None,
            1 => Some(JobError {
                class: r.string()?,
                message: r.string()?,
                at: r.timestamp()?,
            }),
            _ => return Err(DecodeError("bad last_error tag")),
        },
        dead_at: match r.u8()? {
            0 => None,
            1 => Some(r.timestamp()?),
            _ => return Err(DecodeError("bad dead_at tag")),
        },
        attempts: Vec::new(),
    };
    if version >= JOB_RECORD_V2 {
        job.attempts = attempt::decode(&mut r)?;
    }
    r.end()?;
    Ok(job)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Job {
        Job {
            id: JobId::new(7),
            queue: "media".into(),
            kind: "http".into(),
            payload: br#"{"url":"http://x"}"#.to_vec(),
            dedup_key: Some("item-9".into()),
            attempt: 3,
            crashes: 1,
            run_at: Timestamp::from_millis(1_700_000_000_123),
            enqueued_at: Timestamp::from_millis(1_700_000_000_000),
            last_error: Some(JobError {
                class: "transient".into(),
                message: "503".into(),
                at: Timestamp::from_millis(1_700_000_000_100),
            }),
            dead_at: None,
            attempts: vec![
                crate::Attempt::failed(
                    Timestamp::from_millis(1_700_000_000_050),
                    std::time::Duration::from_millis(50),
                    "transient",
                    "503",
                )
                .with_status(Some(503))
                .with_decision(Some(std::time::Duration::from_secs(4)), 3),
            ],
        }
    }

    #[test]
    fn job_round_trips() {
        let job = sample();
        assert_eq!(decode_job(job.id, &encode_job(&job)), Ok(job));
    }

    #[test]
    fn version_one_records_still_decode_with_an_empty_history() {
        // A record written by the first release must stay readable forever.
        let job = Job {
            dedup_key: None,
            last_error: None,
            dead_at: Some(Timestamp::from_millis(300)),
            payload: b"{}".to_vec(),
            queue: "q".into(),
            kind: "k".into(),
            attempt: 2,
            crashes: 0,
            run_at: Timestamp::from_millis(200),
            enqueued_at: Timestamp::from_millis(100),
            id: JobId::new(1),
            attempts: Vec::new(),
        };
        let bytes = [
            1, 1, b'q', 1, b'k', 2, b'{', b'}', 0, 2, 0, 0xc8, 0x01, 100, 0, 1, 0xac, 0x02,
        ];
        assert_eq!(decode_job(job.id, &bytes), Ok(job.clone()));
        // Written again, it is the v2 layout: the same fields and an empty history.
        let mut v2 = bytes.to_vec();
        v2[0] = JOB_RECORD_V2;
        v2.push(0);
        assert_eq!(encode_job(&job), v2);
    }

    #[test]
    fn version_two_layout_is_pinned() {
        let mut job = decode_job(
            JobId::new(1),
            &[
                1, 1, b'q', 1, b'k', 2, b'{', b'}', 0, 2, 0, 0xc8, 0x01, 100, 0, 1, 0xac, 0x02,
            ],
        )
        .expect("v1 record");
        job.attempts.push(
            crate::Attempt::failed(
                Timestamp::from_millis(150),
                std::time::Duration::from_millis(5),
                "c",
                "m",
            )
            .with_status(Some(503))
            .with_decision(Some(std::time::Duration::from_millis(7)), 2),
        );
        let bytes = [
            2, 1, b'q', 1, b'k', 2, b'{', b'}', 0, 2, 0, 0xc8, 0x01, 100, 0, 1, 0xac,
            0x02, // v1 fields
            1, 150, 0x01, 5, 1, 1, b'c', 1, b'm', 1, 0xf7, 0x03, 1, 7, 1, 2, // one attempt
        ];
        assert_eq!(encode_job(&job), bytes);
        assert_eq!(decode_job(job.id, &bytes), Ok(job));
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut bytes = encode_job(&sample());
        bytes[0] = 99;
        assert_eq!(
            decode_job(JobId::new(7), &bytes),
            Err(DecodeError("unknown record version"))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_job(JobId::new(1), &bytes);
        }

        #[test]
        fn every_truncation_is_an_error(cut in 0usize..60) {
            let full = encode_job(&sample());
            prop_assume!(cut < full.len());
            prop_assert!(decode_job(JobId::new(7), &full[..cut]).is_err());
        }

        #[test]
        fn varints_round_trip(v in any::<u64>()) {
            let mut w = Writer::default();
            w.varint(v);
            let bytes = w.finish();
            let mut r = Reader::new(&bytes);
            prop_assert_eq!(r.varint(), Ok(v));
            prop_assert!(r.end().is_ok());
        }
    }
}
