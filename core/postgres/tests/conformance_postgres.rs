//! The PostgreSQL store against the backend conformance suite: each case a test of its
//! own, on a fresh schema, so they run in parallel. Without a server each prints that
//! it was skipped.

use std::sync::Arc;

use tenax_core::ManualClock;
use tenax_core::conformance::{self, Backend};
use tenax_postgres::PgStore;
use tenax_postgres::testing::{TestSchema, TestServer};

struct Pg {
    schema: TestSchema,
}

impl Backend for Pg {
    type Store = PgStore;

    fn open(&mut self, clock: ManualClock) -> PgStore {
        let opts = self.schema.options().clock(Arc::new(clock));
        PgStore::open(opts).expect("open the store")
    }
}

fn run(name: &str) {
    let Some(server) = TestServer::find_or_skip(name) else {
        return;
    };
    let (_, case) = conformance::cases::<Pg>()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no conformance case {name}"));
    let mut backend = Pg {
        schema: server.schema(),
    };
    if let Err(e) = case(&mut backend) {
        panic!("conformance case {name} failed: {e}");
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*

        #[test]
        fn every_conformance_case_has_a_test() {
            let here = [$(stringify!($name)),*];
            let all: Vec<&str> = conformance::cases::<Pg>().iter().map(|(n, _)| *n).collect();
            assert_eq!(all, here, "add the new conformance cases to this file");
        }
    };
}

cases!(
    enqueue_claim_complete,
    not_due_is_never_claimed,
    waiting_retry_does_not_block_due_jobs,
    claim_order_is_run_at_then_id,
    claims_are_exclusive_across_threads,
    retry_counts_records_and_keeps_dedup_key,
    bury_keeps_the_record_and_final_error,
    release_does_not_count_an_attempt,
    outcomes_need_the_current_lease,
    complete_batch_answers_each_lease,
    stale_lease_is_rejected_after_rescue,
    crash_limit_buries_poison_jobs,
    dedup_keys_hold_while_live,
    batch_enqueue_is_all_or_nothing,
    dead_letters_filter_page_requeue_purge,
    worker_state_rides_with_outcomes,
    enqueue_with_state_stores_both_or_neither,
    listen_fires_on_enqueue,
    async_enqueue_matches_blocking_enqueue,
    async_and_blocking_enqueues_mix,
    history_records_every_attempt,
    cancel_buries_a_pending_job,
    cancel_marks_a_running_job,
    delete_dead_removes_one_dead_letter,
    listing_pages_through_each_state,
    leases_renew_and_expire,
    worker_values_compare_and_set,
    a_conflicting_value_refuses_the_outcome,
    enqueue_with_a_stale_value_stores_nothing,
    listen_state_fires_on_writes,
    token_buckets_hold_their_rate,
    concurrent_operations_keep_every_invariant,
);
