//! `jobs`: a page of jobs in one state, in the order of the index that holds it.
//!
//! Waiting and retrying jobs in due order queue by queue, running jobs by id, dead jobs
//! in death order, as the embedded store lists them. The filters are conditions of the
//! query, so a page is at most `limit` jobs and the cursor is the last job's key.
//! The cursor's bytes are this backend's own: a tag, then the key's fields.

use tenax_core::{Error, Job, JobCursor, JobFilter, JobPage, ListState, Result};

use tokio_postgres::types::ToSql;

use crate::db::{Db, ms, ts};
use crate::row::{self, job_columns};

const TAG_DUE: u8 = 1;
const TAG_RUNNING: u8 = 2;
const TAG_DEAD: u8 = 3;

/// The key a listing is ordered by, as a cursor holds it.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    Due { queue: String, run_at: i64, id: i64 },
    Running { id: i64 },
    Dead { dead_at: i64, id: i64 },
}

impl Key {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(17);
        match self {
            Key::Due { queue, run_at, id } => {
                b.push(TAG_DUE);
                b.extend(run_at.to_be_bytes());
                b.extend(id.to_be_bytes());
                b.extend(queue.as_bytes());
            }
            Key::Running { id } => {
                b.push(TAG_RUNNING);
                b.extend(id.to_be_bytes());
            }
            Key::Dead { dead_at, id } => {
                b.push(TAG_DEAD);
                b.extend(dead_at.to_be_bytes());
                b.extend(id.to_be_bytes());
            }
        }
        b
    }

    fn decode(b: &[u8]) -> Option<Key> {
        let int = |at: usize| Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?));
        match *b.first()? {
            TAG_DUE => Some(Key::Due {
                run_at: int(1)?,
                id: int(9)?,
                queue: String::from_utf8(b.get(17..)?.to_vec()).ok()?,
            }),
            TAG_RUNNING if b.len() == 9 => Some(Key::Running { id: int(1)? }),
            TAG_DEAD if b.len() == 17 => Some(Key::Dead {
                dead_at: int(1)?,
                id: int(9)?,
            }),
            _ => None,
        }
    }
}

impl Db {
    pub(crate) async fn jobs(
        self,
        filter: JobFilter,
        after: Option<JobCursor>,
        limit: usize,
    ) -> Result<JobPage> {
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX - 1);
        let after = match &after {
            Some(c) => Some(
                Key::decode(c.as_bytes())
                    .ok_or_else(|| Error::InvalidJob(format!("bad job cursor {c}")))?,
            ),
            None => None,
        };
        let bad_cursor = || Error::InvalidJob("the cursor is of another state".into());
        // `$1` to `$4`: queue, kind, class, limit; then the state's own.
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
            Box::new(filter.queue.clone()),
            Box::new(filter.kind.clone()),
            Box::new(filter.class.clone()),
            Box::new(limit + 1),
        ];
        let order = match (filter.state, after) {
            (ListState::Waiting | ListState::Retrying, after) => {
                let (queue, run_at, id) = match after {
                    Some(Key::Due { queue, run_at, id }) => (queue, run_at, id),
                    Some(_) => return Err(bad_cursor()),
                    None => (String::new(), -1, -1),
                };
                params.push(Box::new(filter.state == ListState::Retrying));
                params.push(Box::new(queue));
                params.push(Box::new(run_at));
                params.push(Box::new(id));
                "state = 'pending' AND (attempt > 0) = $5 AND (queue, run_at, id) > ($6, $7, $8)
                 ORDER BY queue, run_at, id"
            }
            (ListState::Running, after) => {
                params.push(Box::new(match after {
                    Some(Key::Running { id }) => id,
                    Some(_) => return Err(bad_cursor()),
                    None => -1,
                }));
                "state = 'running' AND id > $5 ORDER BY id"
            }
            (ListState::Dead, after) => {
                let (dead_at, id) = match after {
                    Some(Key::Dead { dead_at, id }) => (dead_at, id),
                    Some(_) => return Err(bad_cursor()),
                    None => (-1, -1),
                };
                params.push(Box::new(dead_at));
                params.push(Box::new(id));
                "state = 'dead' AND (dead_at, id) > ($5, $6) ORDER BY dead_at, id"
            }
        };
        let rows = self
            .run("list jobs", |client| {
                let params = &params;
                async move {
                    let sql = format!(
                        "SELECT {} FROM jobs
                         WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR kind = $2)
                           AND ($3::text IS NULL OR error_class = $3) AND {order} LIMIT $4",
                        job_columns!()
                    );
                    let stmt = client.prepare_cached(&sql).await?;
                    let refs: Vec<&(dyn ToSql + Sync)> =
                        params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
                    Ok(client.query(&stmt, &refs).await?)
                }
            })
            .await?;
        let mut jobs = rows
            .iter()
            .map(|r| row::job(r).map(|(j, _)| j))
            .collect::<Result<Vec<Job>>>()?;
        let more = jobs.len() as i64 > limit;
        jobs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = match (more, jobs.last()) {
            (true, Some(j)) => Some(JobCursor::from_bytes(key_of(filter.state, j).encode())),
            _ => None,
        };
        Ok(JobPage { jobs, next })
    }
}

fn key_of(state: ListState, j: &Job) -> Key {
    let id = row::id(j.id);
    match state {
        ListState::Waiting | ListState::Retrying => Key::Due {
            queue: j.queue.clone(),
            run_at: ms(j.run_at),
            id,
        },
        ListState::Running => Key::Running { id },
        ListState::Dead => Key::Dead {
            dead_at: ms(j.dead_at.unwrap_or(ts(0))),
            id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_garbage_is_refused() {
        for k in [
            Key::Due {
                queue: "q-é".into(),
                run_at: 5,
                id: 7,
            },
            Key::Running { id: 9 },
            Key::Dead { dead_at: 1, id: 2 },
        ] {
            assert_eq!(Key::decode(&k.encode()), Some(k));
        }
        assert_eq!(Key::decode(&[]), None);
        assert_eq!(Key::decode(&[2, 0]), None);
        assert_eq!(Key::decode(&[9; 17]), None);
    }
}
