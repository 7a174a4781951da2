//! The write graph: validation, references, partial updates, optimistic concurrency.

use entity::{ContractStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{error_codes, fixtures};

const CREATE_CLIENT: &str = "mutation($input: CreateClientInput!) {
  createClient(input: $input) { id companyName email phone postalCode status kycCompleted assignedToId updatedAt }
}";

/// Asserts a single error with this code and field.
pub fn assert_error(response: &Value, code: &str, field: &str) {
    assert_eq!(error_codes(response), [code], "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], field,
        "{response}"
    );
}

test_both! {
    async fn create_client_validates_every_field(app) {
        let ok = app
            .data(CREATE_CLIENT, json!({ "input": { "companyName": "  Acme  ", "email": "hello@acme.fr",
                                                      "phone": "+33 1 23 45 67 89", "postalCode": "75002" } }))
            .await;
        let c = &ok["createClient"];
        assert_eq!(c["companyName"], "Acme");
        assert_eq!(c["status"], "prospect");
        assert_eq!(c["kycCompleted"], false);
        assert_eq!(app.system_notes(&c["id"]).await, ["Client Acme created"]);

        for (input, field) in [
            (json!({ "companyName": "   " }), "companyName"),
            (json!({ "companyName": "x".repeat(201) }), "companyName"),
            (json!({ "companyName": "A", "email": "not-an-email" }), "email"),
            (json!({ "companyName": "A", "phone": "call me maybe" }), "phone"),
            (json!({ "companyName": "A", "postalCode": "75@02" }), "postalCode"),
        ] {
            let response = app.gql(CREATE_CLIENT, json!({ "input": input })).await;
            assert_error(&response, "BAD_USER_INPUT", field);
        }
        let response = app
            .gql(CREATE_CLIENT, json!({ "input": { "companyName": "A", "assignedToId": uuid::Uuid::now_v7() } }))
            .await;
        assert_error(&response, "NOT_FOUND", "assignedToId");
        let response = app.gql(CREATE_CLIENT, json!({ "input": { "companyName": "A", "status": "BOGUS" } })).await;
        assert_error(&response, "BAD_USER_INPUT", "status");
        let response = app.gql(CREATE_CLIENT, json!({ "input": { "companyName": 42 } })).await;
        assert_error(&response, "BAD_USER_INPUT", "companyName");

        // Nothing was written by the refused calls.
        let count = app.data("{ clients { totalCount } }", Value::Null).await;
        assert_eq!(count["clients"]["totalCount"], 1);
    }
}

test_both! {
    async fn updates_are_partial_and_null_clears_only_optional_fields(app) {
        let created = app
            .data(CREATE_CLIENT, json!({ "input": { "companyName": "Acme", "email": "a@acme.fr", "phone": "0123456789" } }))
            .await;
        let id = created["createClient"]["id"].clone();
        let q = "mutation($id: UUID!, $input: UpdateClientInput!) {
                   updateClient(id: $id, input: $input) { companyName email phone status updatedAt } }";
        let updated = app.data(q, json!({ "id": id, "input": { "email": null, "status": "active" } })).await;
        assert_eq!(updated["updateClient"]["companyName"], "Acme");
        assert_eq!(updated["updateClient"]["email"], Value::Null);
        assert_eq!(updated["updateClient"]["phone"], "0123456789");
        assert_eq!(updated["updateClient"]["status"], "active");
        assert_eq!(app.system_notes(&id).await, ["Client Acme created", "status changed from prospect to active"]);

        let response = app.gql(q, json!({ "id": id, "input": { "companyName": null } })).await;
        assert_error(&response, "BAD_USER_INPUT", "companyName");
        let response = app.gql(q, json!({ "id": uuid::Uuid::now_v7(), "input": {} })).await;
        assert_error(&response, "NOT_FOUND", "id");
    }
}

test_both! {
    async fn a_stale_updated_at_is_a_conflict_and_writes_nothing(app) {
        let created = app.data(CREATE_CLIENT, json!({ "input": { "companyName": "Acme" } })).await;
        let id = created["createClient"]["id"].clone();
        let seen = created["createClient"]["updatedAt"].clone();
        let q = "mutation($id: UUID!, $input: UpdateClientInput!) { updateClient(id: $id, input: $input) { companyName updatedAt } }";

        // A colleague saves first…
        let first = app.data(q, json!({ "id": id, "input": { "city": "Lyon", "expectedUpdatedAt": seen } })).await;
        assert_ne!(first["updateClient"]["updatedAt"], seen);
        // …so our save, based on what we saw before, is refused.
        let response = app.gql(q, json!({ "id": id, "input": { "companyName": "Mine", "expectedUpdatedAt": seen } })).await;
        assert_error(&response, "CONFLICT", "expectedUpdatedAt");
        assert_eq!(response["errors"][0]["extensions"]["reason"], "STALE_UPDATE");
        let now = app.data("query($id: UUID!) { client(id: $id) { companyName city } }", json!({ "id": id })).await;
        assert_eq!(now["client"], json!({ "companyName": "Acme", "city": "Lyon" }));
        // With the fresh value it goes through.
        let fresh = first["updateClient"]["updatedAt"].clone();
        app.data(q, json!({ "id": id, "input": { "companyName": "Mine", "expectedUpdatedAt": fresh } })).await;
    }
}

const CREATE_CONTRACT: &str = "mutation($input: CreateContractInput!) {
  createContract(input: $input) { id contractNumber amount currency status startDate endDate client { id } }
}";

test_both! {
    async fn create_contract_validates_money_dates_currency_and_references(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let base = json!({ "contractNumber": "C-1", "clientId": client.id, "title": "Support", "amount": "1200.5" });
        let ok = app.data(CREATE_CONTRACT, json!({ "input": base })).await;
        assert_eq!(ok["createContract"]["amount"], "1200.50");
        assert_eq!(ok["createContract"]["currency"], "EUR");
        assert_eq!(ok["createContract"]["status"], "draft");

        let with = |patch: Value| {
            let mut input = base.clone();
            input["contractNumber"] = json!(format!("C-{}", uuid::Uuid::now_v7()));
            for (k, v) in patch.as_object().unwrap() {
                input[k] = v.clone();
            }
            json!({ "input": input })
        };
        for (patch, field) in [
            (json!({ "amount": "-1" }), "amount"),
            (json!({ "amount": "10.001" }), "amount"),
            (json!({ "amount": "1000000000000" }), "amount"),
            (json!({ "currency": "EURO" }), "currency"),
            (json!({ "currency": "E1R" }), "currency"),
            (json!({ "title": "" }), "title"),
            (json!({ "startDate": "2026-05-01", "endDate": "2026-04-30" }), "endDate"),
        ] {
            let response = app.gql(CREATE_CONTRACT, with(patch.clone())).await;
            assert_error(&response, "BAD_USER_INPUT", field);
        }
        let response = app.gql(CREATE_CONTRACT, with(json!({ "amount": 12.5 }))).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "floats are refused: {response}");
        let response = app.gql(CREATE_CONTRACT, with(json!({ "clientId": uuid::Uuid::now_v7() }))).await;
        assert_error(&response, "NOT_FOUND", "clientId");
        let response = app.gql(CREATE_CONTRACT, with(json!({ "commercialId": uuid::Uuid::now_v7() }))).await;
        assert_error(&response, "NOT_FOUND", "commercialId");
        let response = app.gql(CREATE_CONTRACT, json!({ "input": base })).await;
        assert_error(&response, "CONFLICT", "contractNumber");

        let count = app.data("{ contracts { totalCount } }", Value::Null).await;
        assert_eq!(count["contracts"]["totalCount"], 1);
    }
}

test_both! {
    async fn client_notes_are_created_updated_and_deleted(app) {
        let (rep, rep_token) = app.user("ivan", Role::Commercial, None).await;
        let client = fixtures::client(&app.db, "Acme", Some(rep)).await;
        // The author is whoever is signed in.
        let created = app
            .gql_as(
                Some(&rep_token),
                "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id clientId noteType content author { username } createdAt } }",
                json!({ "input": { "clientId": client.id, "noteType": "call", "content": "Benchmark note: hi" } }),
            )
            .await;
        let note = &created["data"]["createClientNote"];
        assert_eq!(note["noteType"], "call");
        assert_eq!(note["author"]["username"], "ivan");
        let response = app
            .gql(
                "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id } }",
                json!({ "input": { "clientId": client.id, "content": "  " } }),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT", "content");
        for (input, field) in [
            (json!({ "clientId": uuid::Uuid::now_v7(), "content": "x" }), "clientId"),
            (json!({ "clientId": client.id, "userId": uuid::Uuid::now_v7(), "content": "x" }), "userId"),
        ] {
            let response = app
                .gql("mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id } }", json!({ "input": input }))
                .await;
            assert_error(&response, "NOT_FOUND", field);
        }
        // Admins and managers may log a note in a rep's name; the rep may not use someone else's.
        let logged = app
            .data(
                "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { author { username } } }",
                json!({ "input": { "clientId": client.id, "userId": rep, "noteType": "call", "content": "logged for ivan" } }),
            )
            .await;
        assert_eq!(logged["createClientNote"]["author"]["username"], "ivan");
        let forged = app
            .gql_as(
                Some(&rep_token),
                "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id } }",
                json!({ "input": { "clientId": client.id, "userId": app.admin_id, "content": "in the admin's name" } }),
            )
            .await;
        assert_eq!(crate::helpers::error_codes(&forged), ["FORBIDDEN"]);
        let response = app
            .gql(
                "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id } }",
                json!({ "input": { "clientId": client.id, "noteType": "system", "content": "forged history" } }),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT", "noteType");
        // Creating a note is a single statement for those who see every client.
        app.take_statement_count();
        app.data(
            "mutation($input: CreateClientNoteInput!) { createClientNote(input: $input) { id clientId noteType createdAt } }",
            json!({ "input": { "clientId": client.id, "userId": rep, "content": "one statement" } }),
        )
        .await;
        assert_eq!(app.take_statement_count(), 1);
        let updated = app
            .data(
                "mutation($id: UUID!) { updateClientNote(id: $id, input: { content: \"Edited\" }) { content noteType } }",
                json!({ "id": note["id"] }),
            )
            .await;
        assert_eq!(updated["updateClientNote"], json!({ "content": "Edited", "noteType": "call" }));
        let deleted = app
            .data("mutation($id: UUID!) { deleteClientNote(id: $id) }", json!({ "id": note["id"] }))
            .await;
        assert_eq!(deleted["deleteClientNote"], note["id"]);
        let gone = app.data("query($id: UUID!) { clientNote(id: $id) { id } }", json!({ "id": note["id"] })).await;
        assert_eq!(gone["clientNote"], Value::Null);
    }
}

test_both! {
    async fn deleting_a_client_with_contracts_is_refused(app) {
        let client = fixtures::client(&app.db, "Acme", None).await;
        let contract = fixtures::contract(&app.db, client.id, "D-1", "10.00", ContractStatus::Draft).await;
        let q = "mutation($id: UUID!) { deleteClient(id: $id) }";
        let response = app.gql(q, json!({ "id": client.id })).await;
        assert_error(&response, "CONFLICT", "id");
        assert_eq!(response["errors"][0]["extensions"]["reason"], "HAS_DEPENDENTS");
        app.data("mutation($id: UUID!) { deleteContract(id: $id) }", json!({ "id": contract.id })).await;
        let deleted = app.data(q, json!({ "id": client.id })).await;
        assert_eq!(deleted["deleteClient"], json!(client.id));
    }
}
