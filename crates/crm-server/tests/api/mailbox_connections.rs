//! Connecting a mailbox through the provider's consent screen (OAuth 2 code flow with PKCE)
//! against a real local authorisation server: the tokens stored encrypted for the user who
//! started it, the state used once, refreshed before expiry, a revoked grant shown as
//! `needsReconnect`.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::authorization_server::{
    AuthorizationServer, CLIENT_ID, CLIENT_SECRET, MAILBOX,
};
use crate::helpers::{error_codes, gql_on, send_raw, test_config};
use crm_server::oauth_email_accounts::providers::Providers;
use crm_server::oauth_email_accounts::refresh::{Refreshed, refresh_due};

const SPA: &str = "http://127.0.0.1:5173";

fn config(server: &AuthorizationServer) -> crm_server::config::Config {
    let mut config = test_config();
    let mailboxes = &mut config.mailboxes;
    mailboxes.oauth_google_client_id = Some(CLIENT_ID.to_owned());
    mailboxes.oauth_google_client_secret = Some(CLIENT_SECRET.to_owned());
    mailboxes.oauth_google_auth_url = format!("{}/authorize", server.url);
    mailboxes.oauth_google_token_url = format!("{}/token", server.url);
    mailboxes.oauth_google_userinfo_url = format!("{}/userinfo", server.url);
    mailboxes.oauth_redirect_url = Some("http://127.0.0.1:8000/oauth/callback".to_owned());
    config.storage.public_url = Some(SPA.to_owned());
    config
}

const START: &str = "mutation($provider: MailProvider!, $returnTo: String) { \
    startEmailAccountConnection(provider: $provider, returnTo: $returnTo) { authorizationUrl expiresAt } }";

/// Starts a connection as `token`; returns the authorisation URL.
async fn start(router: &Router, token: &str, return_to: Option<&str>) -> String {
    let answer = gql_on(
        router,
        Some(token),
        START,
        json!({ "provider": "GOOGLE", "returnTo": return_to }),
    )
    .await;
    answer["data"]["startEmailAccountConnection"]["authorizationUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

/// The user consents: the provider's redirect to the callback, as a path and query.
async fn consent(authorization_url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client.get(authorization_url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let location = url::Url::parse(&location).unwrap();
    assert_eq!(location.path(), "/oauth/callback");
    format!(
        "{}?{}",
        location.path(),
        location.query().unwrap_or_default()
    )
}

/// `GET path` on the router: status, `Location`, body.
async fn get(router: &Router, path: &str) -> (StatusCode, Option<String>, String) {
    let (status, headers, body) =
        send_raw(router, Request::get(path).body(Body::empty()).unwrap()).await;
    let location = headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

const COMPLETE: &str = "mutation($connection: String!) { \
    completeEmailAccountConnection(connection: $connection) { id email needsReconnect } }";

/// The `connection` code of a callback's redirect to `returnTo`.
fn connection_of(location: &str) -> String {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "connection")
        .unwrap_or_else(|| panic!("no connection code in {location}"))
        .1
        .into_owned()
}

/// The code shown by the callback's page (no `returnTo`).
fn code_on_page(page: &str) -> String {
    let start = page.find("<pre>").unwrap() + "<pre>".len();
    let end = page[start..].find("</pre>").unwrap() + start;
    page[start..end].to_owned()
}

/// Start, consent, callback (no `returnTo`), completion: a connected mailbox.
async fn connect(router: &Router, token: &str) -> Value {
    let url = start(router, token, None).await;
    let (status, _, page) = get(router, &consent(&url).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let done = gql_on(
        router,
        Some(token),
        COMPLETE,
        json!({ "connection": code_on_page(&page) }),
    )
    .await;
    done["data"]["completeEmailAccountConnection"].clone()
}

const ACCOUNTS: &str = "{ oauthEmailAccounts { nodes { id userId provider email hasAccessToken \
    hasRefreshToken needsReconnect refreshError tokenExpiresAt refreshedAt } } }";

async fn accounts(router: &Router, token: &str) -> Vec<Value> {
    let answer = gql_on(router, Some(token), ACCOUNTS, json!({})).await;
    answer["data"]["oauthEmailAccounts"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .clone()
}

test_both! {
    /// The whole flow: the authorisation URL carries PKCE S256 and a state; after consent the
    /// callback exchanges the code (the server checks the verifier) and reads the address; only
    /// the user who started it completes the connection (the tokens stored encrypted on their
    /// account), not a colleague who went through the consent screen.
    async fn a_mailbox_connects_through_the_consent_screen(app) {
        let provider = AuthorizationServer::start().await;
        let config = config(&provider);
        let router = app.router_with(&config);
        let (rep, rep_token) = app.user("rep", entity::Role::Commercial, None).await;

        let providers = gql_on(&router, Some(&rep_token), "{ mailProviders }", json!({})).await;
        assert_eq!(providers["data"]["mailProviders"], json!(["GOOGLE"]));

        let url = start(&router, &rep_token, Some(&format!("{SPA}/settings/mail"))).await;
        let parsed = url::Url::parse(&url).unwrap();
        let params: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert!(url.starts_with(&format!("{}/authorize?", provider.url)), "{url}");
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["client_id"], CLIENT_ID);
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(params["access_type"], "offline");
        assert!(params["scope"].contains("email"));
        assert!(params["state"].len() >= 16);

        let callback = consent(&url).await;
        let (status, location, body) = get(&router, &callback).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let location = location.unwrap();
        assert!(location.starts_with(&format!("{SPA}/settings/mail?mailbox=authorized&connection=")), "{location}");
        assert_eq!(provider.issued.lock().unwrap().grants, ["authorization_code"]);
        assert!(accounts(&router, &rep_token).await.is_empty(), "nothing attached before the completion");

        // Completed by someone else (a link sent to a colleague): refused, the tokens dropped.
        let (_, colleague) = app.user("colleague", entity::Role::Commercial, None).await;
        let code = connection_of(&location);
        let stolen = gql_on(&router, Some(&colleague), COMPLETE, json!({ "connection": code })).await;
        assert_eq!(error_codes(&stolen), ["FORBIDDEN"], "{stolen}");
        let late = gql_on(&router, Some(&rep_token), COMPLETE, json!({ "connection": code })).await;
        assert_eq!(late["errors"][0]["extensions"]["reason"], "OAUTH_CONNECTION_INVALID", "{late}");
        assert!(accounts(&router, &colleague).await.is_empty());
        assert!(accounts(&router, &rep_token).await.is_empty());

        // Started and completed by the same user.
        let url = start(&router, &rep_token, Some(&format!("{SPA}/settings/mail"))).await;
        let (_, location, _) = get(&router, &consent(&url).await).await;
        let done = gql_on(&router, Some(&rep_token), COMPLETE,
            json!({ "connection": connection_of(&location.unwrap()) })).await;
        assert_eq!(done["data"]["completeEmailAccountConnection"]["email"], MAILBOX, "{done}");
        let mine = accounts(&router, &rep_token).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["userId"], rep.to_string());
        assert_eq!(mine[0]["provider"], "google");
        assert_eq!(mine[0]["email"], MAILBOX);
        assert_eq!(mine[0]["hasRefreshToken"], true);
        assert_eq!(mine[0]["needsReconnect"], false);
        let stored = app.db.query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT access_token, refresh_token FROM oauth_email_accounts")).await.unwrap().unwrap();
        for column in ["access_token", "refresh_token"] {
            let value: String = stored.try_get("", column).unwrap();
            assert!(value.starts_with("v1:") && !value.contains("access-") && !value.contains("refresh-"), "{value}");
        }

        // Without returnTo: a page showing the code to complete with.
        assert_eq!(connect(&router, &rep_token).await["email"], MAILBOX);
        assert_eq!(accounts(&router, &rep_token).await.len(), 1, "the same mailbox, updated");

        // returnTo elsewhere, an unset provider: refused.
        let elsewhere = gql_on(&router, Some(&rep_token), START,
            json!({ "provider": "GOOGLE", "returnTo": "https://evil.example/steal" })).await;
        assert_eq!(elsewhere["errors"][0]["extensions"]["reason"], "RETURN_TO_NOT_ALLOWED", "{elsewhere}");
        let microsoft = gql_on(&router, Some(&rep_token), START, json!({ "provider": "MICROSOFT" })).await;
        assert_eq!(error_codes(&microsoft), ["BAD_USER_INPUT"]);
        assert_eq!(microsoft["errors"][0]["extensions"]["reason"], "PROVIDER_NOT_CONFIGURED");
        let anonymous = gql_on(&router, None, START, json!({ "provider": "GOOGLE" })).await;
        assert_eq!(error_codes(&anonymous), ["UNAUTHENTICATED"]);
    }
}

test_both! {
    /// A state works once, for ten minutes, and only as issued; a denied consent is reported.
    async fn bad_states_are_refused(app) {
        let provider = AuthorizationServer::start().await;
        let router = app.router_with(&config(&provider));
        let (_, rep_token) = app.user("rep", entity::Role::Commercial, None).await;

        let url = start(&router, &rep_token, None).await;
        let callback = consent(&url).await;
        let forged = callback.replace("state=", "state=forged");
        let (status, _, body) = get(&router, &forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("OAUTH_STATE_INVALID"), "{body}");
        let (status, _, _) = get(&router, "/oauth/callback?code=code-1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, _, page) = get(&router, &callback).await;
        assert_eq!(status, StatusCode::OK);
        gql_on(&router, Some(&rep_token), COMPLETE, json!({ "connection": code_on_page(&page) })).await;
        let (status, _, body) = get(&router, &callback).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "used twice: {body}");
        assert!(body.contains("OAUTH_STATE_INVALID"));

        let url = start(&router, &rep_token, None).await;
        app.db.execute_unprepared(&format!(
            "UPDATE oauth_states SET expires_at = {}",
            match app.db_backend() {
                sea_orm::DbBackend::Postgres => "now() - interval '1 minute'",
                _ => "'2000-01-01T00:00:00+00:00'",
            })).await.unwrap();
        let (status, _, body) = get(&router, &consent(&url).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "expired: {body}");

        let url = start(&router, &rep_token, Some(&format!("{SPA}/mail"))).await;
        let state = url::Url::parse(&url).unwrap().query_pairs()
            .find(|(k, _)| k == "state").unwrap().1.into_owned();
        let (status, location, _) = get(&router,
            &format!("/oauth/callback?error=access_denied&state={state}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.unwrap(), format!("{SPA}/mail?mailbox=error&code=OAUTH_DENIED"));
        assert_eq!(accounts(&router, &rep_token).await.len(), 1);
    }
}

test_both! {
    /// Tokens about to expire are refreshed; once the user revokes the access, the refresh's
    /// `invalid_grant` marks the account `needsReconnect` (with the reason), and connecting
    /// again clears it.
    async fn tokens_are_refreshed_and_a_revoked_grant_needs_reconnecting(app) {
        let provider = AuthorizationServer::start().await;
        let config = config(&provider);
        let router = app.router_with(&config);
        let providers = Providers::from_config(&config).unwrap();
        let cipher = crm_server::secrets::TokenCipher::from_config(&config.server.token_keys).unwrap();
        let (_, rep_token) = app.user("rep", entity::Role::Commercial, None).await;
        connect(&router, &rep_token).await;
        let before = accounts(&router, &rep_token).await.remove(0);

        // Not due yet (expires in an hour): nothing to do.
        assert!(refresh_due(&app.db, &cipher, &providers).await.unwrap().is_empty());
        let soon = match app.db_backend() {
            sea_orm::DbBackend::Postgres => "now() + interval '1 minute'".to_owned(),
            _ => format!("'{}'", (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339()),
        };
        app.db.execute_unprepared(&format!("UPDATE oauth_email_accounts SET token_expires_at = {soon}"))
            .await.unwrap();
        let done = refresh_due(&app.db, &cipher, &providers).await.unwrap();
        assert_eq!(done.iter().map(|d| d.1).collect::<Vec<_>>(), [Refreshed::Fresh]);
        let after = accounts(&router, &rep_token).await.remove(0);
        let expires = chrono::DateTime::parse_from_rfc3339(after["tokenExpiresAt"].as_str().unwrap()).unwrap();
        assert!(expires > chrono::Utc::now() + chrono::Duration::minutes(50), "an hour again: {after}");
        assert_ne!(after["refreshedAt"], before["refreshedAt"]);
        let stored: String = app.db.query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(), "SELECT access_token FROM oauth_email_accounts"))
            .await.unwrap().unwrap().try_get("", "access_token").unwrap();
        let latest = provider.issued.lock().unwrap().access_tokens.last().cloned().unwrap();
        assert_eq!(cipher.decrypt(&stored).unwrap(), latest, "the new access token is stored");
        assert_eq!(provider.issued.lock().unwrap().grants, ["authorization_code", "refresh_token"]);

        provider.revoke_all();
        app.db.execute_unprepared(&format!("UPDATE oauth_email_accounts SET token_expires_at = {soon}"))
            .await.unwrap();
        let done = refresh_due(&app.db, &cipher, &providers).await.unwrap();
        assert_eq!(done.iter().map(|d| d.1).collect::<Vec<_>>(), [Refreshed::NeedsReconnect]);
        let revoked = accounts(&router, &rep_token).await.remove(0);
        assert_eq!(revoked["needsReconnect"], true, "{revoked}");
        assert!(revoked["refreshError"].as_str().unwrap().contains("invalid_grant"), "{revoked}");
        // Not tried again until connected again.
        assert!(refresh_due(&app.db, &cipher, &providers).await.unwrap().is_empty());

        connect(&router, &rep_token).await;
        let reconnected = accounts(&router, &rep_token).await;
        assert_eq!(reconnected.len(), 1);
        assert_eq!(reconnected[0]["needsReconnect"], false);
        assert_eq!(reconnected[0]["refreshError"], Value::Null);
    }
}
