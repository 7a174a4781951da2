//! Subscriptions over WebSocket: events reach the subscribers who may see them, re-read as
//! they are, in order, resumable; sockets close on refused credentials, revocation, slowness.

use std::time::Duration;

use entity::{ContractStatus, Role};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::fixtures;
use crate::helpers::process::Server;
use crate::helpers::socket::{Received, Socket};

const PAYMENTS: &str = "subscription($client: UUID, $after: String) {
    paymentChanged(clientId: $client, after: $after) {
        sequence operation id clientId payment { amount status contract { contractNumber } }
    } }";

const RECORD: &str = "mutation($contract: UUID!, $amount: Decimal!) {
    recordPayment(input: { contractId: $contract, amount: $amount }) { id } }";

/// A client (assigned to `rep`) with an active contract of 1000.00; returns their ids.
async fn account(
    app: &crate::helpers::TestApp,
    name: &str,
    rep: Option<uuid::Uuid>,
) -> (uuid::Uuid, uuid::Uuid) {
    let client = fixtures::client(&app.db, name, rep).await;
    let contract = fixtures::contract(
        &app.db,
        client.id,
        &format!("{name}-1"),
        "1000.00",
        ContractStatus::Active,
    )
    .await;
    (client.id, contract.id)
}

async fn record(
    app: &crate::helpers::TestApp,
    token: &str,
    contract: uuid::Uuid,
    amount: &str,
) -> Value {
    let answer = app
        .gql_as(
            Some(token),
            RECORD,
            json!({ "contract": contract, "amount": amount }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["recordPayment"]["id"].clone()
}

test_both! {
    async fn a_recorded_payment_reaches_its_subscribers_with_the_row_as_stored(app) {
        let address = app.listen().await;
        let (client, contract) = account(&app, "Live Pay", None).await;
        let mut socket = Socket::signed_in(address, &app.token).await;
        socket.subscribe("pay", PAYMENTS, json!({})).await;
        socket
            .subscribe(
                "timeline",
                "subscription($client: UUID!) { clientTimeline(clientId: $client) {
                    __typename
                    ... on PaymentEvent { operation payment { amount } }
                    ... on ContractEvent { operation contract { paidAmount } }
                    ... on ClientEvent { operation client { companyName } }
                    ... on NoteEvent { operation note { content } }
                } }",
                json!({ "client": client }),
            )
            .await;
        // Subscriptions start when their first poll of the feed happens: let them.
        tokio::time::sleep(Duration::from_millis(200)).await;

        let id = record(&app, &app.token, contract, "250.00").await;
        // Everything until quiet (the fixtures' own rows, written behind the API's back, come
        // with the feed's next poll).
        let mut seen = Vec::new();
        let mut payment = None;
        while let Some(received) = socket.receive_within(Duration::from_millis(1500)).await {
            let Received::Message(message) = received else { panic!("closed: {received:?}") };
            assert_eq!(message["type"], "next", "{message}");
            if message["id"] == "pay" {
                assert!(payment.is_none(), "one payment event: {message}");
                payment = Some(message["payload"].clone());
            } else {
                seen.push(message["payload"]["data"]["clientTimeline"].clone());
            }
        }
        let payment = payment.expect("the payment's event");
        let event = &payment["data"]["paymentChanged"];
        assert_eq!(event["operation"], "created");
        assert_eq!(event["id"], id);
        assert_eq!(event["clientId"], json!(client));
        assert_eq!(event["payment"]["amount"], "250.00");
        assert_eq!(event["payment"]["status"], "completed");
        assert_eq!(event["payment"]["contract"]["contractNumber"], "Live Pay-1");
        assert!(event["sequence"].as_str().unwrap().parse::<i64>().unwrap() > 0);

        // The timeline: the payment, the contract's and the client's new totals, the history
        // note, each re-read as stored.
        let kinds: Vec<&str> = seen.iter().map(|e| e["__typename"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"PaymentEvent"), "{seen:?}");
        assert!(kinds.contains(&"NoteEvent"), "{seen:?}");
        let contract_event = seen.iter().find(|e| e["__typename"] == "ContractEvent").unwrap();
        assert_eq!(contract_event["contract"]["paidAmount"], "250.00");
    }
}

test_both! {
    async fn a_commercial_hears_only_of_their_own_portfolio(app) {
        let address = app.listen().await;
        let (alice, alice_token) = app.user("live-alice", Role::Commercial, None).await;
        let (bob, _) = app.user("live-bob", Role::Commercial, None).await;
        let (_, alices_contract) = account(&app, "Alice Co", Some(alice)).await;
        let (_, bobs_contract) = account(&app, "Bob Co", Some(bob)).await;
        let mut socket = Socket::signed_in(address, &alice_token).await;
        socket.subscribe("pay", PAYMENTS, json!({})).await;
        socket
            .subscribe("clients", "subscription { clientChanged { client { companyName } } }", json!({}))
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        // Bob's client's payment first (by the admin): nothing of it reaches Alice.
        record(&app, &app.token, bobs_contract, "10.00").await;
        record(&app, &app.token, alices_contract, "20.00").await;
        // Every event of that second write (the payment; the client's new totals), then quiet.
        let mut received = Vec::new();
        while let Some(message) = socket.receive_within(Duration::from_millis(1500)).await {
            match message {
                Received::Message(message) => received.push(message),
                Received::Closed(code, reason) => panic!("closed: {code} {reason}"),
            }
        }
        for message in &received {
            let text = message.to_string();
            assert!(!text.contains("Bob Co") && !text.contains("10.00"), "{text}");
        }
        let payment = received.iter().find(|m| m["id"] == "pay").expect("the payment event");
        assert_eq!(payment["payload"]["data"]["paymentChanged"]["payment"]["amount"], "20.00");
        let client = received.iter().find(|m| m["id"] == "clients").expect("the client event");
        assert_eq!(client["payload"]["data"]["clientChanged"]["client"]["companyName"], "Alice Co");
    }
}

test_both! {
    async fn a_subscriber_resumes_after_the_last_sequence_it_saw(app) {
        let address = app.listen().await;
        let (client, contract) = account(&app, "Resume", None).await;
        let mut socket = Socket::signed_in(address, &app.token).await;
        socket.subscribe("pay", PAYMENTS, json!({ "client": client })).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        record(&app, &app.token, contract, "1.00").await;
        let first = socket.next("pay").await;
        let sequence = first["data"]["paymentChanged"]["sequence"].as_str().unwrap().to_owned();
        drop(socket);

        // Two payments while nobody listens, then a resume after the first.
        record(&app, &app.token, contract, "2.00").await;
        record(&app, &app.token, contract, "3.00").await;
        let mut socket = Socket::signed_in(address, &app.token).await;
        socket
            .subscribe("pay", PAYMENTS, json!({ "client": client, "after": sequence }))
            .await;
        let amounts: Vec<Value> = [
            socket.next("pay").await,
            socket.next("pay").await,
        ]
        .iter()
        .map(|e| e["data"]["paymentChanged"]["payment"]["amount"].clone())
        .collect();
        assert_eq!(amounts, [json!("2.00"), json!("3.00")]);
        // Then live, and nothing twice.
        record(&app, &app.token, contract, "4.00").await;
        let live = socket.next("pay").await;
        assert_eq!(live["data"]["paymentChanged"]["payment"]["amount"], "4.00");
        socket.silent(Duration::from_millis(500)).await;

        // A sequence that is not one is refused on the field.
        socket.subscribe("bad", PAYMENTS, json!({ "after": "yesterday" })).await;
        let refused = socket.next("bad").await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "after", "{refused}");
    }
}

test_both! {
    async fn sockets_close_on_refused_and_revoked_credentials(app) {
        let address = app.listen().await;
        // Wrong token: 4403, with the reason.
        let mut socket = Socket::open(address).await;
        socket
            .send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nonsense" } }))
            .await;
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403);
        assert!(reason.contains("not valid"), "{reason}");

        // A session signed out elsewhere: its socket closes at once.
        let (_, token) = app.user("live-carol", Role::Manager, None).await;
        let mut socket = Socket::signed_in(address, &token).await;
        socket.subscribe("pay", PAYMENTS, json!({})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let out = app.gql_as(Some(&token), "mutation { signOut }", json!({})).await;
        assert_eq!(out["data"]["signOut"], true, "{out}");
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403);
        assert!(reason.contains("session has ended"), "{reason}");

        // An API token revoked.
        let (_, token) = app.user("live-dave", Role::Manager, None).await;
        let created = app
            .gql_as(Some(&token), "mutation { createApiToken(name: \"live\") { token apiToken { id } } }", json!({}))
            .await;
        let api_token = created["data"]["createApiToken"]["token"].as_str().unwrap().to_owned();
        let id = created["data"]["createApiToken"]["apiToken"]["id"].clone();
        let mut socket = Socket::signed_in(address, &api_token).await;
        let revoked = app
            .gql_as(Some(&token), "mutation($id: UUID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert!(revoked.get("errors").is_none(), "{revoked}");
        let (code, _) = socket.closed().await;
        assert_eq!(code, 4403);
    }
}

test_both! {
    async fn sockets_are_bounded(app) {
        let mut config = crate::helpers::test_config();
        config.live.init_secs = 1;
        config.live.max_subscriptions_per_connection = 2;
        config.live.subscription_lag = 1;
        let address = crate::helpers::socket::listen(app.router_with(&config)).await;

        // No connection_init: 4408.
        let mut socket = Socket::open(address).await;
        let (code, _) = socket.closed().await;
        assert_eq!(code, 4408);

        // Two subscriptions per connection; the third is refused, the socket stays.
        let mut socket = Socket::signed_in(address, &app.token).await;
        socket.subscribe("1", PAYMENTS, json!({})).await;
        socket.subscribe("2", PAYMENTS, json!({})).await;
        socket.subscribe("3", PAYMENTS, json!({})).await;
        let refused = socket.next("3").await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS", "{refused}");

        // Writes that log more changes at once than the subscriber's queue holds (each payment:
        // the payment, its contract's and client's totals, a history note, read in one go by
        // the feed while the subscriber re-reads the first): the subscriber is closed, 1013.
        let (client, contract) = account(&app, "Lag", None).await;
        let mut socket = Socket::signed_in(address, &app.token).await;
        socket
            .subscribe("t", "subscription($c: UUID!) { clientTimeline(clientId: $c) { __typename } }", json!({ "c": client }))
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for _ in 0..3 {
            record(&app, &app.token, contract, "5.00").await;
        }
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 1013, "{reason}");
        assert!(reason.contains("after"), "{reason}");

        // Not the protocol: refused before the upgrade.
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{address}/graphql").into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-ws".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400);
            }
            other => panic!("expected a 400, got {:?}", other.map(|(_, response)| response.status())),
        }
    }
}

/// Runs a mutation over `socket` (operation `id`); returns its data.
async fn mutate(socket: &mut Socket, id: &str, query: &str, variables: Value) -> Value {
    socket.subscribe(id, query, variables).await;
    let answer = socket.next(id).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    match socket.receive().await {
        Received::Message(message) => assert_eq!(message["type"], "complete", "{message}"),
        Received::Closed(code, reason) => panic!("closed: {code} {reason}"),
    }
    answer["data"].clone()
}

/// Two server processes on one PostgreSQL database: a change made through either reaches the
/// subscribers of both, once, in order, within a second or two; a commercial hears only of their
/// portfolio; a killed listener connection loses nothing; a revocation closes the sockets of
/// both at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_every_change_and_every_revocation() {
    let Some(app) = crate::helpers::TestApp::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    let url = app.database_url();
    let one = Server::start(&[("DATABASE_URL", &url)]).await;
    let two = Server::start(&[("DATABASE_URL", &url)]).await;
    let (alice, alice_token) = app.user("two-alice", Role::Commercial, None).await;
    let (bob, _) = app.user("two-bob", Role::Commercial, None).await;
    let (_, alices_contract) = account(&app, "Alice Two", Some(alice)).await;
    let (_, bobs_contract) = account(&app, "Bob Two", Some(bob)).await;

    let mut on_one = Socket::signed_in(one.address, &app.token).await;
    let mut on_two = Socket::signed_in(two.address, &app.token).await;
    let mut alice_on_one = Socket::signed_in(one.address, &alice_token).await;
    let mut writer = Socket::signed_in(two.address, &app.token).await;
    for socket in [&mut on_one, &mut on_two, &mut alice_on_one] {
        socket.subscribe("pay", PAYMENTS, json!({})).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Ten payments through instance two, alternating portfolios.
    let mut written = Vec::new();
    for index in 0..10 {
        let contract = if index % 2 == 0 {
            alices_contract
        } else {
            bobs_contract
        };
        let amount = format!("{}.00", index + 1);
        let data = mutate(
            &mut writer,
            &format!("w{index}"),
            RECORD,
            json!({ "contract": contract, "amount": amount }),
        )
        .await;
        written.push((data["recordPayment"]["id"].clone(), amount, index % 2 == 0));
    }
    let started = std::time::Instant::now();
    for (name, socket) in [("one", &mut on_one), ("two", &mut on_two)] {
        let mut sequences = Vec::new();
        for (id, amount, _) in &written {
            let event = socket.next("pay").await;
            let event = &event["data"]["paymentChanged"];
            assert_eq!(
                (&event["id"], event["payment"]["amount"].as_str().unwrap()),
                (id, amount.as_str()),
                "instance {name}"
            );
            sequences.push(event["sequence"].as_str().unwrap().parse::<i64>().unwrap());
        }
        assert!(
            sequences.windows(2).all(|pair| pair[0] < pair[1]),
            "in order: {sequences:?}"
        );
        socket.silent(Duration::from_millis(300)).await;
    }
    for (id, _, alices) in written.iter().filter(|(_, _, alices)| *alices) {
        assert!(alices);
        let event = alice_on_one.next("pay").await;
        assert_eq!(
            &event["data"]["paymentChanged"]["id"], id,
            "Alice hears of her own only"
        );
    }
    alice_on_one.silent(Duration::from_millis(300)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "delivered in {:?}",
        started.elapsed()
    );

    // Every listener connection killed: the next change still arrives, once.
    let killed = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'crm-change-listener'",
        ))
        .await
        .unwrap();
    assert!(
        killed.len() >= 2,
        "a listener per instance: {}",
        killed.len()
    );
    let data = mutate(
        &mut writer,
        "after-kill",
        RECORD,
        json!({ "contract": alices_contract, "amount": "99.00" }),
    )
    .await;
    for socket in [&mut on_one, &mut on_two] {
        let event = socket.next("pay").await;
        assert_eq!(
            event["data"]["paymentChanged"]["id"],
            data["recordPayment"]["id"]
        );
        socket.silent(Duration::from_millis(300)).await;
    }

    // A session signed out through instance one: its sockets on both instances close.
    let (_, carol) = app.user("two-carol", Role::Manager, None).await;
    let mut carol_on_one = Socket::signed_in(one.address, &carol).await;
    let mut carol_on_two = Socket::signed_in(two.address, &carol).await;
    let mut carol_writer = Socket::signed_in(one.address, &carol).await;
    carol_on_two.subscribe("pay", PAYMENTS, json!({})).await;
    carol_writer
        .subscribe("out", "mutation { signOut }", json!({}))
        .await;
    for socket in [&mut carol_on_one, &mut carol_on_two] {
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403, "{reason}");
    }
    drop((one, two));
}

test_both! {
    async fn a_socket_closes_when_its_access_token_expires(app) {
        let mut config = crate::helpers::test_config();
        config.auth.access_token_ttl_secs = 2;
        let router = app.router_with(&config);
        let address = crate::helpers::socket::listen(router.clone()).await;
        app.user("live-erin", Role::Manager, Some("erin-long-password-1")).await;
        let answer = crate::helpers::gql_on(
            &router,
            None,
            "mutation { signIn(email: \"live-erin@crm.example\", password: \"erin-long-password-1\") { accessToken } }",
            Value::Null,
        )
        .await;
        let token = answer["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
        let mut socket = Socket::signed_in(address, &token).await;
        socket.subscribe("pay", PAYMENTS, json!({})).await;
        let started = std::time::Instant::now();
        let (code, reason) = socket.closed().await;
        assert_eq!(code, 4403);
        assert!(reason.contains("expired"), "{reason}");
        // Expired 2 s after sign-in, accepted 5 s more (the leeway between instances' clocks).
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
