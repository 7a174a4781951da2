//! The server outlives a PostgreSQL restart: its own binary, because restarting the cluster
//! under the other tests would fail theirs (cargo runs test binaries one after another).
//!
//! `CRM_TEST_PG_RESTART` is the command that restarts the server under
//! `CRM_TEST_DATABASE_URL` (default `pg_ctlcluster 15 main restart`, as `.ci/run` sets it up).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(unused_macros)]
#[path = "api/helpers/mod.rs"]
mod helpers;

use std::process::Command;

use serde_json::json;

use helpers::{Backend, TestApp, fixtures};

fn restart_postgres() {
    let command = std::env::var("CRM_TEST_PG_RESTART")
        .unwrap_or_else(|_| "pg_ctlcluster 15 main restart".to_owned());
    let status = Command::new("sh")
        .args(["-c", &command])
        .status()
        .unwrap_or_else(|err| panic!("cannot run `{command}`: {err}"));
    assert!(status.success(), "`{command}` failed: {status}");
}

const PAGE: &str = "{ clients(first: 10) { totalCount nodes { id companyName
    contracts { nodes { id paidAmount payments { nodes { id amount } } } } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_a_postgres_restart_succeed() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    for index in 0..5 {
        let client = fixtures::client(&app.db, &format!("Restart {index}"), None).await;
        let contract = fixtures::contract(
            &app.db,
            client.id,
            &format!("R-{index}"),
            "1000.00",
            entity::ContractStatus::Active,
        )
        .await;
        fixtures::payment(
            &app.db,
            &contract,
            "250.00",
            entity::PaymentStatus::Completed,
        )
        .await;
    }
    // Every read connection open and used.
    let before = app.data(PAGE, json!({})).await;
    let requests: Vec<_> = (0..8).map(|_| app.gql(PAGE, json!({}))).collect();
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response["data"], before, "{response}");
    }

    restart_postgres();

    // No request fails: each finds its connection dead, and its statement runs again on a
    // fresh one (one at a time, then many at once).
    for _ in 0..20 {
        let response = app.gql(PAGE, json!({})).await;
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"], before);
    }
    restart_postgres();
    let requests: Vec<_> = (0..20).map(|_| app.gql(PAGE, json!({}))).collect();
    for response in futures_util::future::join_all(requests).await {
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"], before);
    }
    // Writes go on too.
    let created = app
        .gql(
            "mutation { createClient(input: { companyName: \"After the restart\" }) { id } }",
            json!({}),
        )
        .await;
    assert!(created.get("errors").is_none(), "{created}");
}
