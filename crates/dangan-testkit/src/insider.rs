//! What an insider with a database client does to the operation log, for the tests that attack
//! it: raw SQL on the test database, reading the chain, and rewriting it — renumbered and
//! re-hashed, with or without the agency's log key.

use dangan_app::StoreConfig;
use dangan_domain::audit::{ChainAlgorithm, ChainKey, GENESIS, LogEntry, chain_hash};
use dangan_store::{Store, audit};
use sqlx::Connection;

/// Runs SQL statements on the database, as a database client would.
pub async fn exec(config: &StoreConfig, statements: &[String]) {
    match config {
        StoreConfig::SqliteFile(path) => {
            let url = format!("sqlite://{}", path.display());
            let mut c = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            c.close().await.ok();
        }
        StoreConfig::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            for s in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            c.close().await.ok();
        }
    }
}

/// Every entry in the chain, in order.
pub async fn chain(config: &StoreConfig) -> Vec<LogEntry> {
    let store = Store::connect(config).await.expect("connect");
    let mut tx = store.begin().await.expect("transaction");
    let entries = audit::page(&mut tx, 0, 1_000_000).await.expect("entries");
    tx.rollback().await.ok();
    store.close().await;
    entries
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The insider's rewrite: keeps the entries `keep` accepts, renumbers them and recomputes the
/// public chain (SHA-256) and the head row. With the agency's log `key` the MACs are
/// recomputed too; without it they stay as they were (the insider cannot make new ones).
pub async fn rewrite(
    config: &StoreConfig,
    keep: impl Fn(&LogEntry) -> bool,
    key: Option<&ChainKey>,
) {
    let all = chain(config).await;
    let mut statements =
        vec!["UPDATE operation_log SET seq = -id WHERE seq IS NOT NULL".to_owned()];
    let mut prev = GENESIS.to_owned();
    let mut seq = 0i64;
    for e in &all {
        if !keep(e) {
            statements.push(format!("DELETE FROM operation_log WHERE id = {}", e.id));
            continue;
        }
        seq += 1;
        let (entry_mac, hash, mac) = match key {
            Some(k) => {
                let entry_mac = k.entry_mac(&e.fields());
                let (hash, mac) = k.link(seq, &e.fields(), &entry_mac, &prev);
                (entry_mac, hash, mac)
            }
            None => (
                e.entry_mac.clone(),
                chain_hash(
                    ChainAlgorithm::HmacSha256,
                    seq,
                    &e.fields(),
                    &e.entry_mac,
                    &prev,
                ),
                e.mac.clone(),
            ),
        };
        statements.push(format!(
            "UPDATE operation_log SET seq = {seq}, entry_mac = {}, prev_hash = {}, hash = {}, mac = {} WHERE id = {}",
            quoted(&entry_mac),
            quoted(&prev),
            quoted(&hash),
            quoted(&mac),
            e.id
        ));
        prev = hash;
    }
    statements.push(format!(
        "UPDATE operation_log_head SET seq = {seq}, hash = {}",
        quoted(&prev)
    ));
    exec(config, &statements).await;
}
