//! The providers a mailbox connects through (Google, Microsoft), their OAuth clients (the
//! `oauth2` crate: authorisation code with PKCE, refresh), from the configuration.

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl, TokenUrl};

use crate::config::Config;

/// A mail provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, async_graphql::Enum)]
#[graphql(name = "MailProvider")]
pub enum Provider {
    /// Google (Gmail, Google Workspace).
    Google,
    /// Microsoft (Outlook, Microsoft 365).
    Microsoft,
}

impl Provider {
    /// Its name in `oauth_email_accounts.provider`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
        }
    }

    /// The provider of a stored name.
    pub fn parse(stored: &str) -> Option<Provider> {
        match stored {
            "google" => Some(Provider::Google),
            "microsoft" => Some(Provider::Microsoft),
            _ => None,
        }
    }

    /// Query parameters its authorisation endpoint needs to issue a refresh token.
    fn offline_parameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            // Without `prompt=consent`, Google gives a refresh token only the first time.
            Provider::Google => &[("access_type", "offline"), ("prompt", "consent")],
            // `offline_access` is a scope there.
            Provider::Microsoft => &[],
        }
    }
}

/// An OAuth client with its authorisation and token endpoints.
pub type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    pub provider: Provider,
    pub client: OAuthClient,
    /// Where the mailbox's address is read with the access token.
    pub userinfo: url::Url,
    pub scopes: Vec<String>,
}

impl ProviderClient {
    /// Extra parameters of the authorisation URL.
    pub fn offline_parameters(&self) -> &'static [(&'static str, &'static str)] {
        self.provider.offline_parameters()
    }
}

/// The configured providers and how tokens are kept fresh.
#[derive(Debug, Clone)]
pub struct Providers {
    clients: Vec<ProviderClient>,
    /// HTTP to the providers: no redirects followed (a token endpoint that redirects is
    /// refused, as RFC 6749 expects).
    pub http: reqwest::Client,
    /// Tokens expiring within this are refreshed.
    pub refresh_margin: Duration,
    /// How often tokens are looked at (zero: never, on this instance).
    pub refresh_every: Duration,
    /// How long an authorisation may take, from its start to the callback.
    pub state_lifetime: Duration,
    /// Origins a `returnTo` may point at (`CRM_PUBLIC_URL`'s and `CRM_CORS_ORIGINS`).
    pub return_origins: Vec<String>,
}

impl Providers {
    pub fn from_config(config: &Config) -> Result<Providers, String> {
        let settings = &config.mailboxes;
        let redirect = match &settings.oauth_redirect_url {
            Some(url) => url.clone(),
            None => match &config.storage.public_url {
                Some(public) => format!("{}/oauth/callback", public.trim_end_matches('/')),
                None => format!(
                    "http://{}:{}/oauth/callback",
                    config.server.host, config.server.port
                ),
            },
        };
        let redirect = RedirectUrl::new(redirect)
            .map_err(|err| format!("CRM_OAUTH_REDIRECT_URL is not a URL: {err}"))?;
        let tenant = &settings.oauth_microsoft_tenant;
        let mut clients = Vec::new();
        for (provider, id, secret, auth, token, userinfo, scopes) in [
            (
                Provider::Google,
                &settings.oauth_google_client_id,
                &settings.oauth_google_client_secret,
                settings.oauth_google_auth_url.clone(),
                settings.oauth_google_token_url.clone(),
                &settings.oauth_google_userinfo_url,
                &settings.oauth_google_scopes,
            ),
            (
                Provider::Microsoft,
                &settings.oauth_microsoft_client_id,
                &settings.oauth_microsoft_client_secret,
                settings
                    .oauth_microsoft_auth_url
                    .clone()
                    .unwrap_or_else(|| {
                        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize")
                    }),
                settings
                    .oauth_microsoft_token_url
                    .clone()
                    .unwrap_or_else(|| {
                        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
                    }),
                &settings.oauth_microsoft_userinfo_url,
                &settings.oauth_microsoft_scopes,
            ),
        ] {
            let Some(id) = id.as_ref().filter(|id| !id.is_empty()) else {
                continue;
            };
            let name = provider.as_str().to_uppercase();
            let bad = |what: &str, err: &dyn std::fmt::Display| {
                format!("CRM_OAUTH_{name}_{what} is not a URL: {err}")
            };
            let mut client = BasicClient::new(ClientId::new(id.clone()))
                .set_auth_uri(AuthUrl::new(auth).map_err(|e| bad("AUTH_URL", &e))?)
                .set_token_uri(TokenUrl::new(token).map_err(|e| bad("TOKEN_URL", &e))?)
                .set_redirect_uri(redirect.clone());
            if let Some(secret) = secret.as_ref().filter(|s| !s.is_empty()) {
                client = client.set_client_secret(ClientSecret::new(secret.clone()));
            }
            clients.push(ProviderClient {
                provider,
                client,
                userinfo: url::Url::parse(userinfo).map_err(|e| bad("USERINFO_URL", &e))?,
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            });
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("crm-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("cannot build the OAuth HTTP client: {err}"))?;
        Ok(Providers {
            clients,
            http,
            refresh_margin: Duration::from_secs(settings.oauth_refresh_margin_secs),
            refresh_every: Duration::from_secs(settings.oauth_refresh_every_secs),
            state_lifetime: Duration::from_secs(600),
            return_origins: config
                .storage
                .public_url
                .iter()
                .chain(config.server.cors_origins.iter())
                .filter_map(|url| url::Url::parse(url.trim()).ok())
                .map(|url| url.origin().ascii_serialization())
                .collect(),
        })
    }

    /// The provider's client, when it is configured.
    pub fn get(&self, provider: Provider) -> Option<&ProviderClient> {
        self.clients.iter().find(|c| c.provider == provider)
    }

    /// The configured providers.
    pub fn configured(&self) -> Vec<Provider> {
        self.clients.iter().map(|c| c.provider).collect()
    }
}

/// The `oauth2` crate's HTTP client: its requests sent with reqwest 0.13 (the crate's own
/// adapter is for 0.12), redirects not followed.
pub struct Http(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, reqwest::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut answer = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            // A builder given a valid status and valid headers cannot fail.
            Ok(answer
                .body(body)
                .unwrap_or_else(|_| oauth2::http::Response::new(Vec::new())))
        })
    }
}
