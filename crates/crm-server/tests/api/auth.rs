//! Signing in, sessions, API tokens, passwords and user management.

use entity::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::error_codes;
use crate::writes::assert_error;

const SIGN_IN: &str = "mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { accessToken accessTokenExpiresAt refreshToken sessionExpiresAt user { username role } }
}";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
const ME: &str = "{ me { username role lastLoginAt } }";
const PASSWORD: &str = "correct horse battery";

/// The single error of a response: its code and message.
fn error_of(response: &Value) -> (String, String) {
    let codes = error_codes(response);
    assert_eq!(codes.len(), 1, "expected one error: {response}");
    (
        codes[0].clone(),
        response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn sign_in(app: &crate::helpers::TestApp, email: &str, password: &str) -> Value {
    app.gql_as(
        None,
        SIGN_IN,
        json!({ "email": email, "password": password }),
    )
    .await
}

test_both! {
    async fn nothing_is_served_without_valid_credentials(app) {
        for query in ["{ clients { totalCount } }", "{ me { id } }", "{ user(id: \"00000000-0000-0000-0000-000000000000\") { id } }"] {
            let response = app.gql_as(None, query, Value::Null).await;
            assert_eq!(error_of(&response).0, "UNAUTHENTICATED", "{query}: {response}");
            assert!(response["data"].is_null() || response["data"].as_object().is_some_and(|d| d.values().all(Value::is_null)));
        }
        let response = app
            .gql_as(None, "mutation { createClient(input: { companyName: \"Sneaky\" }) { id } }", Value::Null)
            .await;
        assert_eq!(error_of(&response).0, "UNAUTHENTICATED");
        let count = app.data("{ clients { totalCount } }", Value::Null).await;
        assert_eq!(count["clients"]["totalCount"], 0, "nothing was written");

        // A token signed with another key, a garbled one, or another scheme.
        let forged = crm_server::auth::tokens::AccessTokens::new(
            "someone-elses-secret-of-at-least-32-chars",
            std::time::Duration::from_secs(600),
        )
        .issue(app.admin_id, uuid::Uuid::now_v7())
        .unwrap()
        .0;
        for token in [forged.as_str(), "garbage", "crm_pat_notarealtoken"] {
            let response = app.gql_as(Some(token), "{ clients { totalCount } }", Value::Null).await;
            let (code, message) = error_of(&response);
            assert_eq!(code, "UNAUTHENTICATED");
            assert!(message.contains("not valid"), "{message}");
        }
        let response = app
            .request(
                axum::http::Request::post("/graphql")
                    .header("content-type", "application/json")
                    .header("authorization", "Basic YWRtaW46YWRtaW4=")
                    .body(axum::body::Body::from(json!({ "query": "{ me { id } }" }).to_string()))
                    .unwrap(),
            )
            .await;
        assert!(response.1.contains("UNAUTHENTICATED") && response.1.contains("Bearer"), "{}", response.1);
    }
}

test_both! {
    async fn sign_in_refresh_and_sign_out(app) {
        let (_, _) = app.user("nina", Role::Manager, Some(PASSWORD)).await;
        // Wrong password and unknown e-mail get the same answer.
        for (email, password) in [("nina@crm.example", "wrong password!"), ("nobody@crm.example", PASSWORD)] {
            let (code, message) = error_of(&sign_in(&app, email, password).await);
            assert_eq!((code.as_str(), message.as_str()), ("UNAUTHENTICATED", "wrong e-mail or password"));
        }
        // The e-mail address is compared case-insensitively.
        let signed = sign_in(&app, "Nina@CRM.example", PASSWORD).await;
        let session = &signed["data"]["signIn"];
        assert_eq!(session["user"], json!({ "username": "nina", "role": "manager" }), "{signed}");
        let access = session["accessToken"].as_str().unwrap().to_owned();
        let refresh = session["refreshToken"].as_str().unwrap().to_owned();
        assert!(refresh.starts_with("crm_rt_"));
        let me = app.gql_as(Some(&access), ME, Value::Null).await;
        assert_eq!(me["data"]["me"]["username"], "nina");
        assert!(me["data"]["me"]["lastLoginAt"].is_string());

        // The refresh token is stored hashed.
        let raw = app
            .db
            .query_all_raw(Statement::from_string(app.db_backend(), "SELECT refresh_token_hash FROM auth_sessions"))
            .await
            .unwrap();
        for row in raw {
            let hash: String = row.try_get("", "refresh_token_hash").unwrap();
            assert_ne!(hash, refresh);
            assert!(!hash.contains(&refresh[7..]));
        }

        // Refreshing rotates the refresh token.
        let renewed = app.gql_as(None, REFRESH, json!({ "t": refresh })).await;
        let access2 = renewed["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
        let refresh2 = renewed["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        assert_ne!(refresh2, refresh);
        assert_eq!(app.gql_as(Some(&access2), ME, Value::Null).await["data"]["me"]["username"], "nina");

        // Replaying the old refresh token ends the session: someone else has a copy.
        let replay = app.gql_as(None, REFRESH, json!({ "t": refresh })).await;
        assert_eq!(error_of(&replay).0, "UNAUTHENTICATED");
        assert_eq!(error_of(&app.gql_as(Some(&access2), ME, Value::Null).await).0, "UNAUTHENTICATED");
        assert_eq!(error_of(&app.gql_as(None, REFRESH, json!({ "t": refresh2 })).await).0, "UNAUTHENTICATED");

        // Signing out ends the session at once, refresh token included.
        let again = sign_in(&app, "nina@crm.example", PASSWORD).await;
        let access3 = again["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
        let refresh3 = again["data"]["signIn"]["refreshToken"].as_str().unwrap().to_owned();
        let out = app.gql_as(Some(&access3), "mutation { signOut }", Value::Null).await;
        assert_eq!(out["data"]["signOut"], true, "{out}");
        let (code, message) = error_of(&app.gql_as(Some(&access3), ME, Value::Null).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert!(message.contains("session has ended"), "{message}");
        assert_eq!(error_of(&app.gql_as(None, REFRESH, json!({ "t": refresh3 })).await).0, "UNAUTHENTICATED");
    }
}

test_both! {
    async fn repeated_sign_in_attempts_are_slowed_down(app) {
        app.user("olga", Role::Commercial, Some(PASSWORD)).await;
        for _ in 0..5 {
            assert_eq!(error_of(&sign_in(&app, "olga@crm.example", "not her password").await).0, "UNAUTHENTICATED");
        }
        // Over the budget even the right password is not checked.
        let limited = sign_in(&app, "olga@crm.example", PASSWORD).await;
        assert_eq!(error_of(&limited).0, "RATE_LIMITED", "{limited}");
        assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap() >= 1);
        // Other accounts are not affected.
        app.user("pia", Role::Commercial, Some(PASSWORD)).await;
        assert!(sign_in(&app, "pia@crm.example", PASSWORD).await["data"]["signIn"]["accessToken"].is_string());
    }
}

test_both! {
    async fn disabled_users_lose_access_at_once(app) {
        let (rita, token) = app.user("rita", Role::Commercial, Some(PASSWORD)).await;
        assert_eq!(app.gql_as(Some(&token), ME, Value::Null).await["data"]["me"]["username"], "rita");
        let off = app
            .data("mutation($id: UUID!) { deactivateUser(id: $id) { isActive } }", json!({ "id": rita }))
            .await;
        assert_eq!(off["deactivateUser"]["isActive"], false);
        assert_eq!(error_of(&app.gql_as(Some(&token), ME, Value::Null).await).0, "UNAUTHENTICATED");
        let (code, message) = error_of(&sign_in(&app, "rita@crm.example", PASSWORD).await);
        assert_eq!((code.as_str(), message.as_str()), ("UNAUTHENTICATED", "this account is disabled"));
        // With a wrong password the answer stays the generic one.
        let (_, message) = error_of(&sign_in(&app, "rita@crm.example", "wrong password!").await);
        assert_eq!(message, "wrong e-mail or password");
    }
}

test_both! {
    async fn api_tokens_are_shown_once_stored_hashed_and_revocable(app) {
        let (_, token) = app.user("sam", Role::Manager, None).await;
        let created = app
            .gql_as(Some(&token), "mutation { createApiToken(name: \"nightly export\") { token apiToken { id name tokenPrefix lastUsedAt revokedAt } } }", Value::Null)
            .await;
        let created = &created["data"]["createApiToken"];
        let secret = created["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("crm_pat_"));
        assert!(secret.starts_with(created["apiToken"]["tokenPrefix"].as_str().unwrap()));
        let me = app.gql_as(Some(&secret), ME, Value::Null).await;
        assert_eq!(me["data"]["me"]["role"], "manager", "{me}");

        // Only a digest is stored.
        let rows = app
            .db
            .query_all_raw(Statement::from_string(app.db_backend(), "SELECT token_hash FROM api_tokens"))
            .await
            .unwrap();
        let hash: String = rows[0].try_get("", "token_hash").unwrap();
        assert!(!hash.contains(&secret[8..]) && hash.len() == 64);

        let listed = app.gql_as(Some(&token), "{ apiTokens { name lastUsedAt revokedAt } }", Value::Null).await;
        assert_eq!(listed["data"]["apiTokens"][0]["name"], "nightly export");
        assert!(listed["data"]["apiTokens"][0]["lastUsedAt"].is_string(), "{listed}");
        assert!(!listed.to_string().contains(&secret));

        // Someone else cannot revoke it; its owner can, and it stops working at once.
        let id = created["apiToken"]["id"].clone();
        let (_, other) = app.user("tom", Role::Commercial, None).await;
        let refused = app.gql_as(Some(&other), "mutation($id: UUID!) { revokeApiToken(id: $id) { id } }", json!({ "id": id })).await;
        assert_error(&refused, "NOT_FOUND", "id");
        let revoked = app.gql_as(Some(&token), "mutation($id: UUID!) { revokeApiToken(id: $id) { revokedAt } }", json!({ "id": id })).await;
        assert!(revoked["data"]["revokeApiToken"]["revokedAt"].is_string(), "{revoked}");
        assert_eq!(error_of(&app.gql_as(Some(&secret), ME, Value::Null).await).0, "UNAUTHENTICATED");
    }
}

test_both! {
    async fn passwords_change_with_the_current_one(app) {
        // Sign-in attempts are rate limited (5 a minute): this test makes 4.
        let (_, first) = app.user("uma", Role::Commercial, Some(PASSWORD)).await;
        let second = sign_in(&app, "uma@crm.example", PASSWORD).await["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
        const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
        let wrong = app.gql_as(Some(&second), CHANGE, json!({ "c": "not my password", "n": "a brand new secret" })).await;
        assert_error(&wrong, "BAD_USER_INPUT", "currentPassword");
        let short = app.gql_as(Some(&second), CHANGE, json!({ "c": PASSWORD, "n": "short" })).await;
        assert_error(&short, "BAD_USER_INPUT", "newPassword");
        let done = app.gql_as(Some(&second), CHANGE, json!({ "c": PASSWORD, "n": "a brand new secret" })).await;
        assert_eq!(done["data"]["changePassword"], true, "{done}");
        // This session goes on; the other one ended; only the new password signs in.
        assert_eq!(app.gql_as(Some(&second), ME, Value::Null).await["data"]["me"]["username"], "uma");
        assert_eq!(error_of(&app.gql_as(Some(&first), ME, Value::Null).await).0, "UNAUTHENTICATED");
        assert_eq!(error_of(&sign_in(&app, "uma@crm.example", PASSWORD).await).0, "UNAUTHENTICATED");
        assert!(sign_in(&app, "uma@crm.example", "a brand new secret").await["data"]["signIn"].is_object());
    }
}

test_both! {
    async fn admins_manage_users(app) {
        const CREATE: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { id email role isActive } }";
        let input = json!({ "email": "Vera@CRM.example", "username": "vera", "firstName": "Vera", "lastName": "Rossi",
                            "role": "commercial", "password": PASSWORD });
        let created = app.data(CREATE, json!({ "input": input })).await;
        let vera = created["createUser"]["id"].clone();
        assert_eq!(created["createUser"]["email"], "vera@crm.example");
        assert!(sign_in(&app, "vera@crm.example", PASSWORD).await["data"]["signIn"].is_object());

        let mut same_email = input.clone();
        same_email["username"] = json!("vera2");
        let duplicate = app.gql(CREATE, json!({ "input": same_email })).await;
        assert_error(&duplicate, "CONFLICT", "email");
        let weak = app.gql(CREATE, json!({ "input": { "email": "w@crm.example", "username": "w-user", "firstName": "W", "lastName": "W", "password": "123" } })).await;
        assert_error(&weak, "BAD_USER_INPUT", "password");

        // Managers and commercials do not manage users.
        let (_, manager) = app.user("walt", Role::Manager, None).await;
        let refused = app.gql_as(Some(&manager), CREATE, json!({ "input": { "email": "x@crm.example", "username": "xavier", "firstName": "X", "lastName": "X", "password": PASSWORD } })).await;
        assert_eq!(error_of(&refused).0, "FORBIDDEN");
        let refused = app.gql_as(Some(&manager), "mutation($id: UUID!) { resetUserPassword(id: $id, newPassword: \"whatever1234\") { id } }", json!({ "id": vera })).await;
        assert_eq!(error_of(&refused).0, "FORBIDDEN");

        // A role change applies to the user's next request.
        let vera_token = sign_in(&app, "vera@crm.example", PASSWORD).await["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
        crate::helpers::fixtures::client(&app.db, "Not hers", None).await;
        let seen = |r: Value| r["data"]["clients"]["totalCount"].clone();
        assert_eq!(seen(app.gql_as(Some(&vera_token), "{ clients { totalCount } }", Value::Null).await), 0);
        app.data("mutation($id: UUID!) { updateUser(id: $id, input: { role: manager }) { role } }", json!({ "id": vera })).await;
        assert_eq!(seen(app.gql_as(Some(&vera_token), "{ clients { totalCount } }", Value::Null).await), 1);

        // Admins cannot lock themselves out.
        let me = app.gql("mutation($id: UUID!) { updateUser(id: $id, input: { isActive: false }) { id } }", json!({ "id": app.admin_id })).await;
        assert_error(&me, "CONFLICT", "isActive");

        // A reset password ends the user's sessions.
        let reset = app.data("mutation($id: UUID!) { resetUserPassword(id: $id, newPassword: \"a reset password\") { id } }", json!({ "id": vera })).await;
        assert_eq!(reset["resetUserPassword"]["id"], vera);
        assert_eq!(error_of(&app.gql_as(Some(&vera_token), ME, Value::Null).await).0, "UNAUTHENTICATED");
        assert!(sign_in(&app, "vera@crm.example", "a reset password").await["data"]["signIn"].is_object());
    }
}

test_both! {
    async fn the_password_hash_never_leaves_the_server(app) {
        let sdl = crm_server::graphql::sdl();
        assert!(!sdl.to_lowercase().contains("passwordhash") && !sdl.contains("password_hash"));
        let response = app.gql("{ users { nodes { passwordHash } } }", Value::Null).await;
        assert_eq!(error_codes(&response), ["GRAPHQL_VALIDATION_FAILED"]);
    }
}

/// `signIn` sent from `ip` (as the server sees a TCP peer).
async fn sign_in_from(
    app: &crate::helpers::TestApp,
    ip: [u8; 4],
    email: &str,
    password: &str,
) -> Value {
    let body = json!({ "query": SIGN_IN, "variables": { "email": email, "password": password } });
    let request = axum::http::Request::post("/graphql")
        .header("content-type", "application/json")
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40_000,
        ))))
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let (status, body) = app.request(request).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

test_both! {
    async fn a_stranger_cannot_lock_a_user_out(app) {
        const ATTACKER: [u8; 4] = [203, 0, 113, 7];
        const HOME: [u8; 4] = [198, 51, 100, 20];
        app.user("victim", Role::Commercial, Some(PASSWORD)).await;
        // The attacker spends their budget for this account (5 a minute by default) …
        for _ in 0..5 {
            let guess = sign_in_from(&app, ATTACKER, "victim@crm.example", "a wrong guess").await;
            assert_eq!(error_of(&guess).0, "UNAUTHENTICATED", "{guess}");
        }
        // … and is slowed down: the password is not even checked.
        let limited = sign_in_from(&app, ATTACKER, "Victim@crm.example", PASSWORD).await;
        assert_eq!(error_of(&limited).0, "RATE_LIMITED", "{limited}");
        assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap() >= 1);
        assert!(limited["data"].is_null() || limited["data"]["signIn"].is_null());

        // The victim, from their own address, signs in: a mistake, then the right password.
        let typo = sign_in_from(&app, HOME, "victim@crm.example", "correct horse battery!").await;
        assert_eq!(error_of(&typo).0, "UNAUTHENTICATED");
        let signed = sign_in_from(&app, HOME, "victim@crm.example", PASSWORD).await;
        let access = signed["data"]["signIn"]["accessToken"].as_str().unwrap_or_else(|| panic!("{signed}"));
        assert_eq!(app.gql_as(Some(access), ME, Value::Null).await["data"]["me"]["username"], "victim");

        // The attacker still waits.
        let limited = sign_in_from(&app, ATTACKER, "victim@crm.example", "another guess").await;
        assert_eq!(error_of(&limited).0, "RATE_LIMITED", "{limited}");
        assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().unwrap() >= 1);
    }
}

test_both! {
    async fn any_earlier_refresh_token_ends_the_session(app) {
        app.user("rose", Role::Manager, Some(PASSWORD)).await;
        let other = sign_in(&app, "rose@crm.example", PASSWORD).await["data"]["signIn"]["accessToken"].as_str().unwrap().to_owned();
        let signed = sign_in(&app, "rose@crm.example", PASSWORD).await;
        let rt1 = signed["data"]["signIn"]["refreshToken"].as_str().unwrap().to_owned();
        let refresh = |token: String| {
            let app = &app;
            async move { app.gql_as(None, REFRESH, json!({ "t": token })).await }
        };
        let second = refresh(rt1.clone()).await;
        let rt2 = second["data"]["refreshSession"]["refreshToken"].as_str().unwrap_or_else(|| panic!("{second}")).to_owned();
        let third = refresh(rt2).await;
        let rt3 = third["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        let access3 = third["data"]["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(app.gql_as(Some(&access3), ME, Value::Null).await["data"]["me"]["username"], "rose");
        let spent = app
            .db
            .query_all_raw(Statement::from_string(app.db_backend(), "SELECT token_hash FROM spent_refresh_tokens"))
            .await
            .unwrap();
        assert_eq!(spent.len(), 2, "two tokens were exchanged");

        // RT1, two rotations back: someone else has a copy. The whole session ends.
        assert_eq!(error_of(&refresh(rt1.clone()).await).0, "UNAUTHENTICATED");
        assert_eq!(error_of(&refresh(rt3).await).0, "UNAUTHENTICATED");
        let (code, message) = error_of(&app.gql_as(Some(&access3), ME, Value::Null).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert!(message.contains("session has ended"), "{message}");
        // Presenting it again changes nothing more; the user's other session goes on.
        assert_eq!(error_of(&refresh(rt1).await).0, "UNAUTHENTICATED");
        assert_eq!(app.gql_as(Some(&other), ME, Value::Null).await["data"]["me"]["username"], "rose");
    }
}

test_both! {
    async fn credentials_stop_at_their_expiry_even_when_cached(app) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        let (sid, session_token) = app.user("sid", Role::Manager, None).await;
        let expiry = chrono::Utc::now() + chrono::Duration::seconds(2);
        // An API token that expires in two seconds, and a session that ends then.
        let created = app
            .gql_as(
                Some(&session_token),
                "mutation($at: DateTime!) { createApiToken(name: \"short-lived\", expiresAt: $at) { token } }",
                json!({ "at": expiry.to_rfc3339_opts(chrono::SecondsFormat::Micros, true) }),
            )
            .await;
        let api_token = created["data"]["createApiToken"]["token"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
        entity::auth_sessions::Entity::update_many()
            .col_expr(entity::auth_sessions::Column::ExpiresAt, Expr::value(expiry))
            .filter(entity::auth_sessions::Column::UserId.eq(sid))
            .exec(&app.db)
            .await
            .unwrap();
        app.auth.forget_credentials();
        // Both work, and are now cached (for an hour in tests).
        assert_eq!(app.gql_as(Some(&api_token), ME, Value::Null).await["data"]["me"]["username"], "sid");
        assert_eq!(app.gql_as(Some(&session_token), ME, Value::Null).await["data"]["me"]["username"], "sid");

        let wait = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
        let (code, message) = error_of(&app.gql_as(Some(&api_token), ME, Value::Null).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert!(message.contains("expired"), "{message}");
        let (code, message) = error_of(&app.gql_as(Some(&session_token), ME, Value::Null).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert!(message.contains("session has ended"), "{message}");
    }
}

test_both! {
    async fn tokens_exchanged_before_the_upgrade_still_end_their_session(app) {
        use migration::{Migrator, MigratorTrait};
        use sea_orm::TransactionTrait;
        app.user("ursula", Role::Commercial, Some(PASSWORD)).await;
        let rt1 = sign_in(&app, "ursula@crm.example", PASSWORD).await["data"]["signIn"]["refreshToken"].as_str().unwrap().to_owned();
        let renewed = app.gql_as(None, REFRESH, json!({ "t": rt1 })).await;
        let rt2 = renewed["data"]["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();

        // Back to the schema that kept one exchanged token per session, and up again.
        let txn = app.db.begin().await.unwrap();
        let after_it = Migrator::migrations()
            .iter()
            .rev()
            .position(|m| m.name() == "m20261201_000013_spent_refresh_tokens")
            .unwrap();
        Migrator::down(&txn, Some(after_it as u32 + 1)).await.unwrap();
        let rows = txn
            .query_all_raw(Statement::from_string(app.db_backend(), "SELECT previous_token_hash FROM auth_sessions"))
            .await
            .unwrap();
        let kept: Vec<Option<String>> = rows.iter().map(|row| row.try_get("", "previous_token_hash").unwrap()).collect();
        assert!(kept.contains(&Some(crm_server::auth::tokens::digest(&rt1))), "{kept:?}");
        Migrator::up(&txn, None).await.unwrap();
        txn.commit().await.unwrap();

        assert_eq!(error_of(&app.gql_as(None, REFRESH, json!({ "t": rt1 })).await).0, "UNAUTHENTICATED");
        assert_eq!(error_of(&app.gql_as(None, REFRESH, json!({ "t": rt2 })).await).0, "UNAUTHENTICATED");
    }
}

test_both! {
    async fn the_development_admin_password_is_refused_outside_development(app) {
        use crm_server::bootstrap::{CreateAdminArgs, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD};
        let args = |email: &str, password: &str| CreateAdminArgs {
            email: email.to_owned(),
            username: None,
            first_name: "Ops".to_owned(),
            last_name: "Admin".to_owned(),
            password: Some(password.to_owned()),
        };
        // `create-admin` never takes the published password.
        let refused = crm_server::bootstrap::create_admin(&app.db, args("ops@crm.example", DEV_ADMIN_PASSWORD)).await;
        assert!(matches!(refused, Err(crm_server::error::AppError::BadUserInput { .. })));
        // A database started in development keeps the development admin: production refuses
        // to serve while it signs in with that password.
        assert!(!crm_server::bootstrap::development_admin_usable(&app.db).await.unwrap());
        crm_server::bootstrap::development_admin(&app.db).await.unwrap();
        // The test admin already exists: no development admin is made next to it.
        assert!(!crm_server::bootstrap::development_admin_usable(&app.db).await.unwrap());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("fresh.db").display());
        let fresh = crm_server::db::connect(&url, 1).await.unwrap();
        crm_server::db::migrate(&fresh).await.unwrap();
        crm_server::bootstrap::development_admin(&fresh).await.unwrap();
        assert!(crm_server::bootstrap::development_admin_usable(&fresh).await.unwrap());
        let user = crm_server::auth::service::user_by_email(&fresh, DEV_ADMIN_EMAIL).await.unwrap().unwrap();
        let hash = crm_server::auth::password::hash("a-new-secret-password".to_owned()).await.unwrap();
        let mut changed: entity::users::ActiveModel = user.into();
        changed.password_hash = sea_orm::ActiveValue::Set(hash);
        sea_orm::ActiveModelTrait::update(changed, &fresh).await.unwrap();
        assert!(!crm_server::bootstrap::development_admin_usable(&fresh).await.unwrap());
        let (_, generated) = crm_server::bootstrap::create_admin(&app.db, args("ops@crm.example", "another-good-password")).await.unwrap();
        assert!(generated.is_none());
    }
}

test_both! {
    async fn behind_a_trusted_proxy_attempts_count_against_the_forwarded_address(app) {
        use tower::ServiceExt;
        let mut config = crate::helpers::test_config();
        config.server.trusted_proxies = "10.0.0.0/8".parse().unwrap();
        let router = crm_server::app::router(crm_server::app::state(app.db.clone(), &config).unwrap(), &config);
        app.user("proxied", Role::Commercial, Some(PASSWORD)).await;
        let sign_in = |peer: [u8; 4], forwarded: &'static str, password: &'static str| {
            let router = router.clone();
            async move {
                let body = json!({ "query": SIGN_IN, "variables": { "email": "proxied@crm.example", "password": password } });
                let request = axum::http::Request::post("/graphql")
                    .header("content-type", "application/json")
                    .header("x-forwarded-for", forwarded)
                    .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((peer, 40_000))))
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
                serde_json::from_slice::<Value>(&bytes).unwrap()
            }
        };
        const PROXY: [u8; 4] = [10, 0, 0, 2];
        // The attacker, through the proxy, spends their own address's budget for the account
        // (what they write in front of the proxy's entry is not believed) …
        for _ in 0..5 {
            let guess = sign_in(PROXY, "1.2.3.4, 203.0.113.7", "a wrong guess").await;
            assert_eq!(error_of(&guess).0, "UNAUTHENTICATED", "{guess}");
        }
        let refused = sign_in(PROXY, "9.9.9.9, 203.0.113.7", "a wrong guess").await;
        assert_eq!(error_of(&refused).0, "RATE_LIMITED", "{refused}");
        // … while the user, through the same proxy from their own address, signs in.
        let signed_in = sign_in(PROXY, "198.51.100.20", PASSWORD).await;
        assert!(signed_in["data"]["signIn"]["accessToken"].is_string(), "{signed_in}");
        // Not through the proxy, the header is the client's own: ignored.
        for _ in 0..5 {
            sign_in([203, 0, 113, 8], "198.51.100.20", "a wrong guess").await;
        }
        let refused = sign_in([203, 0, 113, 8], "198.51.100.21", "a wrong guess").await;
        assert_eq!(error_of(&refused).0, "RATE_LIMITED", "{refused}");
    }
}
