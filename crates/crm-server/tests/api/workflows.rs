//! Domain workflows: KYC, assignment, the contract life cycle, payments and refunds, each one
//! transaction that also writes the client's history; idempotency, rollback, concurrency.

use entity::{ContractStatus, Role, clients};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, IntoActiveModel};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes, fixtures};
use crate::writes::assert_error;

async fn client_without_kyc(app: &TestApp) -> clients::Model {
    let c = fixtures::client(&app.db, "Acme", None).await;
    let mut active = c.into_active_model();
    active.kyc_completed = Set(false);
    active.kyc_completed_at = Set(None);
    active.update(&app.db).await.unwrap()
}

const SIGN: &str = "mutation($id: UUID!) { signContract(id: $id) { status signedAt } }";
const RECORD: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id amount status clientId contract { paidAmount outstandingAmount } } }";

test_both! {
    async fn a_contract_is_signed_only_after_kyc_and_every_step_is_in_the_history(app) {
        let rep = fixtures::user(&app.db, "judy", Role::Commercial).await;
        let client = client_without_kyc(&app).await;
        let contract = fixtures::contract(&app.db, client.id, "L-1", "100.00", ContractStatus::Draft).await;

        let response = app.gql(SIGN, json!({ "id": contract.id })).await;
        assert_error(&response, "CONFLICT", "id");
        assert_eq!(response["errors"][0]["extensions"]["reason"], "KYC_INCOMPLETE");

        let kyc = app
            .data("mutation($id: UUID!) { completeClientKyc(id: $id) { kycCompleted kycCompletedAt } }", json!({ "id": client.id }))
            .await;
        assert_eq!(kyc["completeClientKyc"]["kycCompleted"], true);
        assert!(kyc["completeClientKyc"]["kycCompletedAt"].is_string());
        let assigned = app
            .data(
                "mutation($id: UUID!, $u: UUID) { assignClient(id: $id, userId: $u) { assignedTo { username } } }",
                json!({ "id": client.id, "u": rep.id }),
            )
            .await;
        assert_eq!(assigned["assignClient"]["assignedTo"]["username"], "judy");

        let signed = app.data(SIGN, json!({ "id": contract.id })).await;
        assert_eq!(signed["signContract"]["status"], "active");
        assert!(signed["signContract"]["signedAt"].is_string());
        let response = app.gql(SIGN, json!({ "id": contract.id })).await;
        assert_eq!(response["errors"][0]["extensions"]["reason"], "INVALID_TRANSITION", "{response}");

        let done = app
            .data("mutation($id: UUID!) { completeContract(id: $id) { status } }", json!({ "id": contract.id }))
            .await;
        assert_eq!(done["completeContract"]["status"], "completed");
        let response = app
            .gql("mutation($id: UUID!) { cancelContract(id: $id, reason: \"late\") { status } }", json!({ "id": contract.id }))
            .await;
        assert_error(&response, "CONFLICT", "id");

        let other = fixtures::contract(&app.db, client.id, "L-2", "5.00", ContractStatus::Draft).await;
        app.data("mutation($id: UUID!) { cancelContract(id: $id, reason: \"Client changed plans\") { status } }", json!({ "id": other.id }))
            .await;

        assert_eq!(
            app.system_notes(client.id).await,
            [
                "KYC completed",
                "Assigned to judy Tester (judy)",
                "Contract L-1 signed",
                "Contract L-1 completed",
                "Contract L-2 cancelled: Client changed plans",
            ]
        );
    }
}

test_both! {
    async fn payment_rules_hold(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let other = fixtures::client(&app.db, "Other", None).await;
        let draft = fixtures::contract(&app.db, client.id, "P-D", "100.00", ContractStatus::Draft).await;
        let cancelled = fixtures::contract(&app.db, client.id, "P-C", "100.00", ContractStatus::Cancelled).await;
        let active = fixtures::contract(&app.db, client.id, "P-A", "100.00", ContractStatus::Active).await;

        for contract in [&draft, &cancelled] {
            let response = app.gql(RECORD, json!({ "input": { "contractId": contract.id, "amount": "10" } })).await;
            assert_error(&response, "CONFLICT", "contractId");
            assert_eq!(response["errors"][0]["extensions"]["reason"], "CONTRACT_NOT_PAYABLE");
        }
        for (amount, field) in [("0", "amount"), ("-5", "amount"), ("1.234", "amount")] {
            let response = app.gql(RECORD, json!({ "input": { "contractId": active.id, "amount": amount } })).await;
            assert_error(&response, "BAD_USER_INPUT", field);
        }
        let response = app.gql(RECORD, json!({ "input": { "contractId": uuid::Uuid::now_v7(), "amount": "1" } })).await;
        assert_error(&response, "NOT_FOUND", "contractId");

        // The client is derived from the contract, and a different one is refused.
        let paid = app.data(RECORD, json!({ "input": { "contractId": active.id, "amount": "60.00" } })).await;
        assert_eq!(paid["recordPayment"]["clientId"], json!(client.id));
        assert_eq!(paid["recordPayment"]["status"], "completed");
        assert_eq!(paid["recordPayment"]["contract"], json!({ "paidAmount": "60.00", "outstandingAmount": "40.00" }));
        let response = app
            .gql(
                "mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id } }",
                json!({ "input": { "contractId": active.id, "clientId": other.id, "amount": "1", "paymentDate": "2026-01-01" } }),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT", "clientId");

        // Completed payments never exceed the contract amount.
        let response = app.gql(RECORD, json!({ "input": { "contractId": active.id, "amount": "40.01" } })).await;
        assert_error(&response, "CONFLICT", "amount");
        assert_eq!(response["errors"][0]["extensions"]["reason"], "OVERPAYMENT");
        app.data(RECORD, json!({ "input": { "contractId": active.id, "amount": "40.00" } })).await;

        // Refund: completed → refunded, once; history has every step.
        let payment_id = paid["recordPayment"]["id"].clone();
        let refund = "mutation($id: UUID!) { refundPayment(id: $id) { status contract { paidAmount } } }";
        let refunded = app.data(refund, json!({ "id": payment_id })).await;
        assert_eq!(refunded["refundPayment"], json!({ "status": "refunded", "contract": { "paidAmount": "40.00" } }));
        let response = app.gql(refund, json!({ "id": payment_id })).await;
        assert_eq!(response["errors"][0]["extensions"]["reason"], "NOT_REFUNDABLE", "{response}");
        let response = app.gql("mutation($id: UUID!) { deletePayment(id: $id) }", json!({ "id": payment_id })).await;
        assert_error(&response, "CONFLICT", "id");
        let response = app.gql("mutation($id: UUID!) { deleteContract(id: $id) }", json!({ "id": active.id })).await;
        assert_eq!(response["errors"][0]["extensions"]["reason"], "HAS_DEPENDENTS", "{response}");

        assert_eq!(
            app.system_notes(client.id).await,
            [
                "Payment of 60.00 EUR received on contract P-A",
                "Payment of 40.00 EUR received on contract P-A",
                "Payment of 60.00 EUR refunded on contract P-A",
            ]
        );
    }
}

test_both! {
    async fn the_same_idempotency_key_records_one_payment(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "I-1", "100.00", ContractStatus::Active).await;
        let input = json!({ "input": { "contractId": contract.id, "amount": "30.00", "idempotencyKey": "bank-tx-42" } });
        let first = app.data(RECORD, input.clone()).await;
        let second = app.data(RECORD, input).await;
        assert_eq!(first["recordPayment"]["id"], second["recordPayment"]["id"]);
        let data = app
            .data("query($id: UUID!) { contract(id: $id) { paidAmount payments { totalCount } } }", json!({ "id": contract.id }))
            .await;
        assert_eq!(data["contract"], json!({ "paidAmount": "30.00", "payments": { "totalCount": 1 } }));
        assert_eq!(app.system_notes(client.id).await.len(), 1);
    }
}

test_both! {
    async fn an_idempotency_key_replayed_with_other_values_is_a_conflict(app) {
        const PAY: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id paymentDate } }";
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "I-1", "100.00", ContractStatus::Active).await;
        let other = fixtures::contract(&app.db, client.id, "I-2", "100.00", ContractStatus::Active).await;
        let first = json!({ "contractId": contract.id, "amount": "30.00", "paymentMethod": "transfer",
                            "reference": "VIR-1", "idempotencyKey": "bank-tx-42" });
        let recorded = app.data(PAY, json!({ "input": first })).await["recordPayment"].clone();
        for (field, value) in [
            ("contractId", json!(other.id)),
            ("amount", json!("31.00")),
            ("paymentDate", json!("2020-01-01")),
            ("paymentMethod", json!("card")),
            ("reference", json!("VIR-2")),
            ("reference", Value::Null),
        ] {
            let mut input = first.clone();
            input[field] = value.clone();
            let response = app.gql(PAY, json!({ "input": input })).await;
            assert_error(&response, "CONFLICT", "idempotencyKey");
            assert_eq!(response["errors"][0]["extensions"]["reason"], "IDEMPOTENCY_KEY_REUSED", "{field} = {value}: {response}");
        }
        // A retry gets the first payment: the same values, the amount however written, the day
        // given or left to its default.
        let mut retry = first.clone();
        retry["amount"] = json!("30");
        retry["paymentDate"] = recorded["paymentDate"].clone();
        for input in [first, retry] {
            let again = app.data(PAY, json!({ "input": input })).await;
            assert_eq!(again["recordPayment"], recorded);
        }
        let data = app
            .data("query($a: UUID!, $b: UUID!) { a: contract(id: $a) { paidAmount } b: contract(id: $b) { paidAmount } }",
                  json!({ "a": contract.id, "b": other.id }))
            .await;
        assert_eq!(data, json!({ "a": { "paidAmount": "30.00" }, "b": { "paidAmount": "0.00" } }));
        assert_eq!(app.system_notes(client.id).await.len(), 1);
    }
}

test_both! {
    async fn a_failure_after_the_first_write_leaves_no_trace(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "R-1", "100.00", ContractStatus::Draft).await;
        // Make the history entry (the second write of signContract) fail in the database.
        let sql = match app.db_backend() {
            DbBackend::Sqlite => "CREATE TRIGGER no_notes BEFORE INSERT ON client_notes BEGIN SELECT RAISE(ABORT, 'notes are down'); END".to_owned(),
            _ => "CREATE FUNCTION no_notes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'notes are down'; END $$; \
                  CREATE TRIGGER no_notes BEFORE INSERT ON client_notes FOR EACH ROW EXECUTE FUNCTION no_notes()".to_owned(),
        };
        app.db.execute_unprepared(&sql).await.unwrap();

        let response = app.gql(SIGN, json!({ "id": contract.id })).await;
        assert_eq!(error_codes(&response), ["INTERNAL_SERVER_ERROR"], "{response}");
        let response = app.gql(RECORD, json!({ "input": { "contractId": contract.id, "amount": "1" } })).await;
        assert!(!error_codes(&response).is_empty());

        let data = app
            .data("query($id: UUID!) { contract(id: $id) { status signedAt payments { totalCount } } }", json!({ "id": contract.id }))
            .await;
        assert_eq!(data["contract"], json!({ "status": "draft", "signedAt": "2026-02-20T09:30:00Z", "payments": { "totalCount": 0 } }));
    }
}

test_both! {
    async fn concurrent_payments_that_would_overpay_let_exactly_one_through(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "X-1", "100.00", ContractStatus::Active).await;
        let calls = (0..4).map(|i| {
            let app = &app;
            let input = json!({ "input": { "contractId": contract.id, "amount": "60.00", "reference": format!("try-{i}") } });
            async move { app.gql(RECORD, input).await }
        });
        let responses = futures_util::future::join_all(calls).await;
        let won: Vec<&Value> = responses.iter().filter(|r| r.get("errors").is_none()).collect();
        assert_eq!(won.len(), 1, "{responses:#?}");
        for lost in responses.iter().filter(|r| r.get("errors").is_some()) {
            assert_eq!(lost["errors"][0]["extensions"]["reason"], "OVERPAYMENT", "{lost}");
        }
        let data = app.data("query($id: UUID!) { contract(id: $id) { paidAmount } }", json!({ "id": contract.id })).await;
        assert_eq!(data["contract"]["paidAmount"], "60.00");
    }
}

test_both! {
    async fn updates_of_contracts_and_payments_keep_the_rules(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "U-1", "100.00", ContractStatus::Active).await;
        fixtures::contract(&app.db, client.id, "U-2", "5.00", ContractStatus::Draft).await;
        let paid = app.data(RECORD, json!({ "input": { "contractId": contract.id, "amount": "70.00" } })).await;
        let update_contract = "mutation($id: UUID!, $input: UpdateContractInput!) { updateContract(id: $id, input: $input) { amount contractNumber endDate } }";

        let response = app.gql(update_contract, json!({ "id": contract.id, "input": { "amount": "69.99" } })).await;
        assert_error(&response, "CONFLICT", "amount");
        assert_eq!(response["errors"][0]["extensions"]["reason"], "BELOW_PAID");
        let response = app.gql(update_contract, json!({ "id": contract.id, "input": { "contractNumber": "U-2" } })).await;
        assert_error(&response, "CONFLICT", "contractNumber");
        // The fixture starts on 2026-03-01: an end before it is refused.
        let response = app.gql(update_contract, json!({ "id": contract.id, "input": { "endDate": "2026-02-01" } })).await;
        assert_error(&response, "BAD_USER_INPUT", "endDate");
        let response = app.gql(update_contract, json!({ "id": contract.id, "input": { "title": null } })).await;
        assert_error(&response, "BAD_USER_INPUT", "title");
        let ok = app
            .data(update_contract, json!({ "id": contract.id, "input": { "amount": "120", "endDate": null } }))
            .await;
        assert_eq!(ok["updateContract"], json!({ "amount": "120.00", "contractNumber": "U-1", "endDate": null }));

        // A pending payment completed later still may not overpay.
        let pending = app
            .data(
                "mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id status } }",
                json!({ "input": { "contractId": contract.id, "amount": "60.00", "paymentDate": "2026-05-01" } }),
            )
            .await;
        assert_eq!(pending["createPayment"]["status"], "pending");
        let update_payment = "mutation($id: UUID!, $input: UpdatePaymentInput!) { updatePayment(id: $id, input: $input) { status amount } }";
        let response = app
            .gql(update_payment, json!({ "id": pending["createPayment"]["id"], "input": { "status": "completed" } }))
            .await;
        assert_eq!(response["errors"][0]["extensions"]["reason"], "OVERPAYMENT", "{response}");
        let done = app
            .data(update_payment, json!({ "id": pending["createPayment"]["id"], "input": { "status": "completed", "amount": "50" } }))
            .await;
        assert_eq!(done["updatePayment"], json!({ "status": "completed", "amount": "50.00" }));
        let response = app
            .gql(update_payment, json!({ "id": paid["recordPayment"]["id"], "input": { "status": "refunded" } }))
            .await;
        assert_error(&response, "BAD_USER_INPUT", "status");
        let deleted = app
            .gql("mutation($id: UUID!) { deletePayment(id: $id) }", json!({ "id": pending["createPayment"]["id"] }))
            .await;
        assert_eq!(error_codes(&deleted), ["CONFLICT"], "completed payments stay: {deleted}");
    }
}
