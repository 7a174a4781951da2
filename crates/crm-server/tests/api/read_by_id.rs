//! Each of the seven types read by id, with all its columns.

use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::error_codes;
use crate::helpers::fixtures;

test_both! {
    async fn every_type_is_readable_by_id_with_all_its_columns(app) {
        let db = &app.db;
        let rep = fixtures::user(db, "alice", Role::Commercial).await;
        let client = fixtures::client(db, "Acme", Some(rep.id)).await;
        let contract =
            fixtures::contract(db, client.id, "C-001", "999999999999.99", ContractStatus::Active).await;
        let payment = fixtures::payment(db, &contract, "0.10", PaymentStatus::Completed).await;
        let document = fixtures::document(db, client.id, Some(contract.id), Some(rep.id)).await;
        let note = fixtures::note(db, client.id, Some(rep.id), "Called the CFO").await;
        let account = fixtures::email_account(db, rep.id).await;

        let response = app
            .gql(
                "query($u: UUID!, $c: UUID!, $k: UUID!, $p: UUID!, $d: UUID!, $n: UUID!, $a: UUID!) {
                  user(id: $u) { id email username firstName lastName role isActive lastLoginAt createdAt updatedAt }
                  client(id: $c) { id companyName email phone address city postalCode country status
                                   kycCompleted kycCompletedAt assignedToId createdAt updatedAt }
                  contract(id: $k) { id contractNumber clientId commercialId title amount currency status
                                     startDate endDate signedAt createdAt updatedAt }
                  payment(id: $p) { id contractId clientId amount paymentDate paymentMethod status reference createdAt updatedAt }
                  document(id: $d) { id clientId contractId uploadedById fileName filePath mimeType fileSize documentType createdAt updatedAt }
                  clientNote(id: $n) { id clientId userId noteType content createdAt updatedAt }
                  oauthEmailAccount(id: $a) { id userId provider email hasAccessToken hasRefreshToken tokenExpiresAt createdAt updatedAt }
                }",
                json!({ "u": rep.id, "c": client.id, "k": contract.id, "p": payment.id,
                        "d": document.id, "n": note.id, "a": account.id }),
            )
            .await;
        assert_eq!(response.get("errors"), None, "{response}");
        let data = &response["data"];
        assert_eq!(
            data["user"],
            json!({ "id": rep.id, "email": "alice@crm.example", "username": "alice",
                    "firstName": "alice", "lastName": "Tester", "role": "commercial", "isActive": true,
                    "lastLoginAt": null, "createdAt": "2026-01-02T09:30:00Z", "updatedAt": "2026-01-02T09:30:00Z" })
        );
        assert_eq!(
            data["client"],
            json!({ "id": client.id, "companyName": "Acme", "email": "contact@acme.example",
                    "phone": "+33 1 23 45 67 89", "address": "1 rue de la Paix", "city": "Paris",
                    "postalCode": "75002", "country": "France", "status": "active", "kycCompleted": true,
                    "kycCompletedAt": "2026-02-03T09:30:00Z", "assignedToId": rep.id,
                    "createdAt": "2026-01-05T09:30:00Z", "updatedAt": "2026-01-05T09:30:00Z" })
        );
        assert_eq!(
            data["contract"],
            json!({ "id": contract.id, "contractNumber": "C-001", "clientId": client.id,
                    "commercialId": null, "title": "Contract C-001",
                    "amount": "999999999999.99", "currency": "EUR", "status": "active",
                    "startDate": "2026-03-01", "endDate": "2027-02-28", "signedAt": "2026-02-20T09:30:00Z",
                    "createdAt": "2026-02-01T09:30:00Z", "updatedAt": "2026-02-01T09:30:00Z" })
        );
        assert_eq!(
            data["payment"],
            json!({ "id": payment.id, "contractId": contract.id, "clientId": client.id, "amount": "0.10",
                    "paymentDate": "2026-04-15", "paymentMethod": "transfer", "status": "completed",
                    "reference": "VIR-0001", "createdAt": "2026-04-15T09:30:00Z", "updatedAt": "2026-04-15T09:30:00Z" })
        );
        assert_eq!(
            data["document"],
            json!({ "id": document.id, "clientId": client.id, "contractId": contract.id,
                    "uploadedById": rep.id, "fileName": "kbis.pdf", "filePath": "clients/kbis.pdf",
                    "mimeType": "application/pdf", "fileSize": 123456, "documentType": "identity",
                    "createdAt": "2026-02-02T09:30:00Z", "updatedAt": "2026-02-02T09:30:00Z" })
        );
        assert_eq!(
            data["clientNote"],
            json!({ "id": note.id, "clientId": client.id, "userId": rep.id, "noteType": "call",
                    "content": "Called the CFO", "createdAt": "2026-02-04T09:30:00Z", "updatedAt": "2026-02-04T09:30:00Z" })
        );
        assert_eq!(
            data["oauthEmailAccount"],
            json!({ "id": account.id, "userId": rep.id, "provider": "google", "email": "rep@gmail.example",
                    "hasAccessToken": true, "hasRefreshToken": false, "tokenExpiresAt": "2026-12-01T09:30:00Z",
                    "createdAt": "2026-01-10T09:30:00Z", "updatedAt": "2026-01-10T09:30:00Z" })
        );
    }
}

test_both! {
    async fn an_unknown_id_reads_as_null(app) {
        let response = app
            .gql(
                "{ client(id: \"0196b1a0-0000-7000-8000-000000000000\") { id } \
                   user(id: \"0196b1a0-0000-7000-8000-000000000000\") { id } }",
                Value::Null,
            )
            .await;
        assert_eq!(response, json!({ "data": { "client": null, "user": null } }));
    }
}

test_both! {
    async fn a_malformed_uuid_is_a_bad_user_input_naming_the_argument(app) {
        for (query, variables) in [
            ("{ client(id: \"not-a-uuid\") { id } }", Value::Null),
            ("query($id: UUID!) { contract(id: $id) { id } }", json!({ "id": "1234" })),
        ] {
            let response = app.gql(query, variables).await;
            assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "id", "{response}");
        }
    }
}

test_both! {
    async fn a_storage_failure_is_masked_as_an_internal_error(app) {
        use sea_orm::ConnectionTrait;
        app.db.execute_unprepared("DROP TABLE oauth_email_accounts").await.unwrap();
        let response = app
            .gql("{ oauthEmailAccount(id: \"0196b1a0-0000-7000-8000-000000000000\") { id } }", Value::Null)
            .await;
        assert_eq!(error_codes(&response), ["INTERNAL_SERVER_ERROR"], "{response}");
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("oauth_email_accounts"), "leaks SQL: {message}");
        assert_eq!(message, "internal server error");
    }
}

test_both! {
    async fn syntax_and_schema_errors_have_codes(app) {
        let response = app.gql("{ client(id: ", Value::Null).await;
        assert_eq!(error_codes(&response), ["GRAPHQL_PARSE_FAILED"]);
        let response = app.gql("{ client(id: \"0196b1a0-0000-7000-8000-000000000000\") { nope } }", Value::Null).await;
        assert_eq!(error_codes(&response), ["GRAPHQL_VALIDATION_FAILED"]);
    }
}

test_both! {
    async fn a_query_text_sent_again_answers_for_its_own_variables_and_directives(app) {
        // The server keeps the parsed document of a text: each request must still get its own
        // variables, its own @include/@skip outcome, and syntax errors every time.
        let db = &app.db;
        let acme = fixtures::client(db, "Acme", None).await;
        let globex = fixtures::client(db, "Globex", None).await;
        let query = "query($id: UUID!, $withCity: Boolean!) {
                       client(id: $id) { companyName city @include(if: $withCity) }
                     }";
        for _ in 0..2 {
            let data = app.data(query, json!({ "id": acme.id, "withCity": true })).await;
            assert_eq!(data["client"], json!({ "companyName": "Acme", "city": "Paris" }));
            let data = app.data(query, json!({ "id": globex.id, "withCity": false })).await;
            assert_eq!(data["client"], json!({ "companyName": "Globex" }));
        }
        for _ in 0..2 {
            let response = app.gql("{ client(id: ", Value::Null).await;
            assert_eq!(error_codes(&response), ["GRAPHQL_PARSE_FAILED"]);
        }
    }
}
