//! Connected mailboxes: tokens encrypted at rest, never returned.

use entity::Role;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::fixtures;
use crate::writes::assert_error;
use crm_server::secrets::{DEV_TOKEN_KEYS, TokenCipher};

const CONNECT: &str = "mutation($input: ConnectEmailAccountInput!) {
  connectEmailAccount(input: $input) { id provider email hasAccessToken hasRefreshToken tokenExpiresAt user { username } }
}";

test_both! {
    async fn mailbox_tokens_are_encrypted_at_rest_and_never_returned(app) {
        let rep = fixtures::user(&app.db, "kate", Role::Commercial).await;
        let input = json!({ "userId": rep.id, "provider": "Google", "email": "kate@gmail.example",
                            "accessToken": "ya29.PLAINTEXT-ACCESS", "refreshToken": "1//PLAINTEXT-REFRESH",
                            "tokenExpiresAt": "2026-12-01T10:00:00Z" });
        let connected = app.data(CONNECT, json!({ "input": input })).await;
        let account = &connected["connectEmailAccount"];
        assert_eq!(account["provider"], "google");
        assert_eq!(account["hasAccessToken"], true);
        assert_eq!(account["hasRefreshToken"], true);
        assert_eq!(account["user"]["username"], "kate");
        assert!(!connected.to_string().contains("PLAINTEXT"));

        // The raw columns hold ciphertext that the configured key opens.
        let backend = app.db_backend();
        let sql = match backend {
            DbBackend::Sqlite => "SELECT access_token, refresh_token FROM oauth_email_accounts WHERE user_id = ?",
            _ => "SELECT access_token, refresh_token FROM oauth_email_accounts WHERE user_id = $1",
        };
        let row = app
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [rep.id.into()]))
            .await
            .unwrap()
            .unwrap();
        let access: String = row.try_get("", "access_token").unwrap();
        let refresh: String = row.try_get("", "refresh_token").unwrap();
        for stored in [&access, &refresh] {
            assert!(stored.starts_with("v1:dev:"), "{stored}");
            assert!(!stored.contains("PLAINTEXT"), "{stored}");
        }
        let cipher = TokenCipher::from_config(DEV_TOKEN_KEYS).unwrap();
        assert_eq!(cipher.decrypt(&access).unwrap(), "ya29.PLAINTEXT-ACCESS");

        // Reconnecting the same mailbox refreshes it instead of duplicating it.
        let again = app
            .data(CONNECT, json!({ "input": { "userId": rep.id, "provider": "google", "email": "kate@gmail.example" } }))
            .await;
        assert_eq!(again["connectEmailAccount"]["id"], account["id"]);
        assert_eq!(again["connectEmailAccount"]["hasAccessToken"], false);
        let count = app.data("{ oauthEmailAccounts { totalCount } }", Value::Null).await;
        assert_eq!(count["oauthEmailAccounts"]["totalCount"], 1);

        for (patch, code, field) in [
            (json!({ "userId": uuid::Uuid::now_v7(), "provider": "google", "email": "a@b.fr" }), "NOT_FOUND", "userId"),
            (json!({ "userId": rep.id, "provider": " ", "email": "a@b.fr" }), "BAD_USER_INPUT", "provider"),
            (json!({ "userId": rep.id, "provider": "google", "email": "nope" }), "BAD_USER_INPUT", "email"),
        ] {
            let response = app.gql(CONNECT, json!({ "input": patch })).await;
            assert_error(&response, code, field);
        }

        let gone = app
            .data("mutation($id: UUID!) { disconnectEmailAccount(id: $id) }", json!({ "id": account["id"] }))
            .await;
        assert_eq!(gone["disconnectEmailAccount"], account["id"]);
        let count = app.data("{ oauthEmailAccounts { totalCount } }", Value::Null).await;
        assert_eq!(count["oauthEmailAccounts"]["totalCount"], 0);
    }
}
