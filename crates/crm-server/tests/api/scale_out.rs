//! Running over a real PostgreSQL deployment: queries on a streaming replica (and a client
//! reading its own writes), PgBouncer in session mode served, transaction mode refused.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use entity::Role;
use http_body_util::BodyExt;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::postgres::{Bouncer, PoolMode, Replica, wal_position};
use crate::helpers::socket::Socket;
use crate::helpers::{Backend, TestApp, fixtures, gql_on, test_config};

const COUNT: &str = "query($name: String!) {
    clients(filter: { companyName: { eq: $name } }) { totalCount } }";

/// Runs `query` through `router` as `token`, with these extra headers; the answer's JSON and
/// its `Crm-Write-Position` header.
async fn ask(
    router: &axum::Router,
    token: &str,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
) -> (Value, Option<String>) {
    let mut request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let position = response
        .headers()
        .get("crm-write-position")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (serde_json::from_slice(&body).unwrap(), position)
}

async fn count(router: &axum::Router, token: &str, name: &str, headers: &[(&str, &str)]) -> Value {
    let (answer, _) = ask(router, token, COUNT, json!({ "name": name }), headers).await;
    answer["data"]["clients"]["totalCount"].clone()
}

async fn sql(url: &str, statement: &str) {
    let db = sea_orm::Database::connect(url).await.unwrap();
    db.execute_unprepared(statement).await.unwrap();
    db.close().await.unwrap();
}

#[tokio::test]
async fn queries_read_from_a_streaming_replica_and_each_client_reads_its_own_writes() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let mut replica = Replica::start().await;
    let replica_url = replica.url(&app.database_url());
    replica.catch_up(&app.db, &replica_url).await;
    let mut config = test_config();
    config.database.database_replica_url = vec![replica_url.clone()];
    config.database.replica_check_ms = 50;
    let router = app.router_with(&config);
    let (_, other) = app.user("other-admin", Role::Admin, None).await;
    replica.catch_up(&app.db, &replica_url).await;
    let ready = || async {
        let request = Request::get("/ready").body(Body::empty()).unwrap();
        crate::helpers::send(&router, request).await
    };
    for _ in 0..100 {
        if ready().await.0.is_success() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready().await.0.is_success(), "{:?}", ready().await);

    // The replica stops replaying: what is written from now on is on the primary only.
    sql(&replica_url, "SELECT pg_wal_replay_pause()").await;
    let behind_the_back = fixtures::client(&app.db, "Primary Only", None).await;
    assert_eq!(
        count(&router, &other, "Primary Only", &[]).await,
        0,
        "queries read the replica"
    );
    // A client carrying a position the replica has not reached reads from the primary.
    let position = wal_position(&app.db).await;
    let after = [("crm-read-after", position.as_str())];
    assert_eq!(count(&router, &other, "Primary Only", &after).await, 1);

    // A mutation, and the reads inside it, run on the primary (the row is not on the replica).
    let (answer, written) = ask(
        &router,
        &app.token,
        "mutation($id: UUID!) { updateClient(id: $id, input: { city: \"Lyon\" }) { city } }",
        json!({ "id": behind_the_back.id }),
        &[],
    )
    .await;
    assert_eq!(answer["data"]["updateClient"]["city"], "Lyon", "{answer}");
    let written = written.expect("a mutation answers its write position");
    assert!(written.contains('/'), "{written}");
    // Its author reads it at once, on this instance without a header; the other admin, without
    // the position, reads the replica; with it, the primary.
    assert_eq!(count(&router, &app.token, "Primary Only", &[]).await, 1);
    assert_eq!(count(&router, &other, "Primary Only", &[]).await, 0);
    let after = [("crm-read-after", written.as_str())];
    assert_eq!(count(&router, &other, "Primary Only", &after).await, 1);

    // Replaying again, the replica catches up and everyone reads the row from it.
    sql(&replica_url, "SELECT pg_wal_replay_resume()").await;
    replica.catch_up(&app.db, &replica_url).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count(&router, &other, "Primary Only", &[]).await, 1);
    let (_, metrics) = crate::helpers::send(
        &router,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(
        metrics.contains("crm_queries_read_total{database=\"replica\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crm_queries_read_total{database=\"primary\"}"),
        "{metrics}"
    );
    // What the Grafana dashboard shows of the replicas.
    assert!(
        metrics.contains("crm_replica_usable{replica=\"0\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crm_replica_lag_seconds{replica=\"0\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crm_db_connections{pool=\"replica0\",state=\"in_use\"}"),
        "{metrics}"
    );

    // A position that is not one is refused, naming the header.
    let (answer, _) = ask(
        &router,
        &other,
        COUNT,
        json!({ "name": "x" }),
        &[("crm-read-after", "yesterday")],
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["field"], "Crm-Read-After",
        "{answer}"
    );

    // The replica goes away: queries read from the primary, the instance stays ready.
    replica.stop();
    fixtures::client(&app.db, "After The Replica", None).await;
    assert_eq!(count(&router, &other, "After The Replica", &[]).await, 1);
    assert_eq!(count(&router, &other, "After The Replica", &[]).await, 1);
    assert!(ready().await.0.is_success());
}

#[tokio::test]
async fn behind_pgbouncer_session_mode_serves_and_transaction_mode_is_refused_at_start() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let Some(session) = Bouncer::start(PoolMode::Session).await else {
        return;
    };
    let mut config = test_config();
    config.database.database_url = Some(session.url(&app.database_url()));
    let state = crm_server::app::build(&config).await.unwrap();
    let router = crm_server::app::router(state, &config);
    let address = crate::helpers::socket::listen(router.clone()).await;
    let mut socket = Socket::signed_in(address, &app.token).await;
    socket
        .subscribe(
            "clients",
            "subscription { clientChanged { operation client { companyName } } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Writes and reads (prepared statements, run again) through the pooler.
    for (name, email) in [
        ("Pooled One", "one@example.com"),
        ("Pooled Two", "two@example.com"),
    ] {
        let answer = gql_on(
            &router,
            Some(&app.token),
            "mutation($name: String!, $email: String!) { createClient(input: { \
             companyName: $name, email: $email }) { companyName } }",
            json!({ "name": name, "email": email }),
        )
        .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(count(&router, &app.token, name, &[]).await, 1);
    }
    // The change feed listens through the pooler: the subscriber hears of the write.
    let event = socket.next("clients").await;
    assert_eq!(
        event["data"]["clientChanged"]["client"]["companyName"], "Pooled One",
        "{event}"
    );

    let transaction = Bouncer::start(PoolMode::Transaction).await.unwrap();
    config.database.database_url = Some(transaction.url(&app.database_url()));
    let refused = crm_server::app::build(&config)
        .await
        .err()
        .expect("refused");
    let message = refused.to_string();
    assert!(message.contains("transaction"), "{message}");
    assert!(message.contains("pool_mode = session"), "{message}");
}
