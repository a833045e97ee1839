//! Opening a PostgreSQL store: migrations, a newer schema, the node name, bad options.

use std::time::Duration;

use tenax_core::{JobStore, NewJob};
use tenax_postgres::testing::TestServer;
use tenax_postgres::{Error, PgOptions, PgStore, SCHEMA_VERSION};

#[test]
fn a_schema_newer_than_this_build_is_refused_with_both_versions() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("newer schema") else {
        return Ok(());
    };
    let schema = server.schema();
    let store = PgStore::open(schema.options())?;
    store.enqueue_batch(vec![NewJob::new("a", b"x".to_vec())])?;
    store.put_state("probe", b"1")?;
    drop(store);
    // A later tenax migrated the schema further.
    let bump = format!(
        "INSERT INTO {}.schema_version (version) VALUES ({})",
        schema.name(),
        SCHEMA_VERSION + 1
    );
    run_sql(server.url(), &bump)?;
    let e = PgStore::open(schema.options()).expect_err("a newer schema must be refused");
    assert!(
        matches!(e, Error::NewerSchema { found, supported, .. }
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{e}"
    );
    assert!(e.to_string().contains("upgrade tenax"), "{e}");
    Ok(())
}

#[test]
fn stores_opening_at_once_migrate_once_and_keep_the_data() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("concurrent migration") else {
        return Ok(());
    };
    let schema = server.schema();
    let opened: Vec<_> = (0..4)
        .map(|i| {
            let opts = schema.options().node(format!("n{i}"));
            std::thread::spawn(move || PgStore::open(opts))
        })
        .collect();
    let stores = opened
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect::<Result<Vec<_>, _>>()?;
    let id = stores[0].enqueue_batch(vec![NewJob::new("a", b"x".to_vec())])?[0].id();
    assert!(
        stores[3].job(id)?.is_some(),
        "one schema, seen by every store"
    );
    drop(stores);
    let again = PgStore::open(schema.options())?;
    assert!(again.job(id)?.is_some(), "a reopen keeps the data");
    Ok(())
}

#[test]
fn a_node_name_is_held_by_one_open_store() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("node name") else {
        return Ok(());
    };
    let schema = server.schema();
    let first = PgStore::open(schema.options().node("alpha"))?;
    let e = PgStore::open(schema.options().node("alpha")).expect_err("the name is taken");
    assert!(
        matches!(e, Error::NodeInUse { ref node } if node == "alpha"),
        "{e}"
    );
    let _other = PgStore::open(schema.options().node("beta"))?;
    drop(first);
    PgStore::open(schema.options().node("alpha"))?;
    Ok(())
}

#[test]
fn bad_options_and_unreachable_servers_get_clear_errors() {
    let e = PgStore::open(PgOptions::new("postgresql://u:hunter2@127.0.0.1/test"))
        .expect_err("a password in the URL");
    assert!(matches!(e, Error::PasswordInUrl), "{e}");
    assert!(!e.to_string().contains("hunter2"));
    // Port 9 (discard) on loopback: nothing listens.
    let opts = PgOptions::new("postgresql://postgres@127.0.0.1:9/test")
        .connect_timeout(Duration::from_secs(1));
    let e = PgStore::open(opts).expect_err("nothing listens there");
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert!(e.to_string().contains("127.0.0.1:9/test"), "{e}");
}

#[test]
fn batch_ids_follow_the_request_order() -> anyhow::Result<()> {
    let Some(server) = TestServer::find_or_skip("batch ids") else {
        return Ok(());
    };
    let schema = server.schema();
    let store = PgStore::open(schema.options())?;
    let kinds: Vec<String> = (0..50).map(|i| format!("k{}", (i * 37) % 50)).collect();
    let jobs = kinds
        .iter()
        .map(|k| NewJob::new(k.clone(), Vec::new()))
        .collect();
    let out = store.enqueue_batch(jobs)?;
    for (kind, e) in kinds.iter().zip(&out) {
        let (job, _) = store.job(e.id())?.expect("stored");
        assert_eq!(
            &job.kind,
            kind,
            "result {} is the job of its request",
            e.id()
        );
    }
    Ok(())
}

/// Runs SQL on its own connection (for changing what a store will find).
fn run_sql(url: &str, sql: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.batch_execute(sql).await?;
        Ok(())
    })
}
