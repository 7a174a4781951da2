//! Managing endpoints and reading their deliveries: admins only. Secrets are encrypted (see
//! [`crate::secrets`]) before they reach the database and never returned, except a generated
//! one, once.

use entity::{webhook_deliveries, webhooks};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::events::EventType;
use super::inputs::{CreateWebhookInput, UpdateWebhookInput};
use super::signature;
use super::worker::Settings;
use crate::auth::{Action, Viewer};
use crate::db::now;
use crate::error::{AppError, AppResult};
use crate::secrets::TokenCipher;
use crate::validate::optional_text;

/// The longest endpoint URL.
const MAX_URL: usize = 2048;

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "WebhookDeliveryStatus")]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed; `redeliverWebhookDelivery` tries again.
    Failed,
}

impl DeliveryStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status of a stored value.
    pub fn parse(stored: &str) -> DeliveryStatus {
        match stored {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// Registers an endpoint; returns it and the secret when one was generated.
pub async fn create(
    db: &DatabaseConnection,
    viewer: Viewer,
    cipher: &TokenCipher,
    settings: &Settings,
    input: CreateWebhookInput,
) -> AppResult<(webhooks::Model, Option<String>)> {
    viewer.require(Action::ManageWebhooks)?;
    let url = check_url(settings, &input.url).await?;
    let events = check_events(&input.events)?;
    let description = optional_text("description", input.description.as_deref(), 500)?;
    let (secret, generated) = match input.secret {
        Some(secret) => {
            signature::check_secret(&secret).map_err(|why| AppError::bad_input("secret", why))?;
            (secret, false)
        }
        None => (
            signature::generate_secret()
                .map_err(|_| AppError::Internal("no entropy for a secret".to_owned()))?,
            true,
        ),
    };
    let sealed = seal(cipher, &secret)?;
    let at = now();
    let webhook = webhooks::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(url),
        description: Set(description),
        events: Set(events),
        secret: Set(sealed),
        created_by: Set(Some(viewer.user_id)),
        consecutive_failures: Set(0),
        failing_since: Set(None),
        last_success_at: Set(None),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    tracing::info!(webhook = %webhook.id, url = %webhook.url, "webhook registered");
    Ok((webhook, generated.then_some(secret)))
}

/// Changes an endpoint.
pub async fn update(
    db: &DatabaseConnection,
    viewer: Viewer,
    cipher: &TokenCipher,
    settings: &Settings,
    id: Uuid,
    input: UpdateWebhookInput,
) -> AppResult<webhooks::Model> {
    viewer.require(Action::ManageWebhooks)?;
    let current = find(db, id).await?;
    let mut webhook: webhooks::ActiveModel = current.clone().into();
    if let Some(url) = &input.url {
        webhook.url = Set(check_url(settings, url).await?);
    }
    if let Some(events) = &input.events {
        webhook.events = Set(check_events(events)?);
    }
    if let Some(secret) = &input.secret {
        signature::check_secret(secret).map_err(|why| AppError::bad_input("secret", why))?;
        webhook.secret = Set(seal(cipher, secret)?);
    }
    if input.description.is_some() {
        webhook.description = Set(optional_text(
            "description",
            input.description.as_deref(),
            500,
        )?);
    }
    let at = now();
    match input.enabled {
        Some(true) => {
            webhook.disabled_at = Set(None);
            webhook.disabled_reason = Set(None);
            webhook.consecutive_failures = Set(0);
            webhook.failing_since = Set(None);
        }
        Some(false) if current.disabled_at.is_none() => {
            webhook.disabled_at = Set(Some(at));
            webhook.disabled_reason = Set(Some("disabled by an administrator".to_owned()));
        }
        _ => {}
    }
    webhook.updated_at = Set(at);
    Ok(webhook.update(db).await?)
}

/// Removes an endpoint and its delivery log; returns its id.
pub async fn delete(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Uuid> {
    viewer.require(Action::ManageWebhooks)?;
    let done = webhooks::Entity::delete_by_id(id).exec(db).await?;
    if done.rows_affected == 0 {
        return Err(AppError::not_found("id", "no webhook with this id"));
    }
    Ok(id)
}

/// Every endpoint, oldest first.
pub async fn list(db: &DatabaseConnection, viewer: Viewer) -> AppResult<Vec<webhooks::Model>> {
    viewer.require(Action::ManageWebhooks)?;
    Ok(webhooks::Entity::find()
        .order_by_asc(webhooks::Column::Id)
        .all(db)
        .await?)
}

/// One endpoint.
pub async fn get(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<Option<webhooks::Model>> {
    viewer.require(Action::ManageWebhooks)?;
    Ok(webhooks::Entity::find_by_id(id).one(db).await?)
}

/// One page of an endpoint's deliveries, newest first, after the delivery `after`; and
/// whether there are more.
pub async fn deliveries(
    db: &DatabaseConnection,
    viewer: Viewer,
    webhook: Uuid,
    status: Option<DeliveryStatus>,
    first: u64,
    after: Option<Uuid>,
) -> AppResult<(Vec<webhook_deliveries::Model>, bool)> {
    viewer.require(Action::ManageWebhooks)?;
    let mut query = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook))
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(first + 1);
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(webhook_deliveries::Column::Id.lt(after));
    }
    let mut rows = query.all(db).await?;
    let more = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok((rows, more))
}

/// How many deliveries an endpoint has (in `status`, when given).
pub async fn count_deliveries(
    db: &DatabaseConnection,
    viewer: Viewer,
    webhook: Uuid,
    status: Option<DeliveryStatus>,
) -> AppResult<u64> {
    viewer.require(Action::ManageWebhooks)?;
    let mut query = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::WebhookId.eq(webhook));
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::Column::Status.eq(status.as_str()));
    }
    Ok(query.count(db).await?)
}

/// Sends a test event (`webhook.ping`) to an endpoint now, signed like the others: a delivery
/// in its log like any other.
pub async fn ping(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<webhook_deliveries::Model> {
    viewer.require(Action::ManageWebhooks)?;
    let webhook = find(db, id).await?;
    refuse_disabled(&webhook)?;
    let at = now();
    let event_id = Uuid::now_v7();
    let payload = serde_json::json!({
        "id": event_id,
        "type": PING,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "data": { "webhookId": webhook.id },
    })
    .to_string();
    Ok(pending(webhook.id, event_id, PING, payload, at)
        .insert(db)
        .await?)
}

/// The test event's type.
pub const PING: &str = "webhook.ping";

/// A new delivery of an event to an endpoint, due at `at`.
pub(super) fn pending(
    webhook: Uuid,
    event_id: Uuid,
    event_type: &str,
    payload: String,
    at: chrono::DateTime<chrono::Utc>,
) -> webhook_deliveries::ActiveModel {
    webhook_deliveries::ActiveModel {
        id: Set(Uuid::now_v7()),
        webhook_id: Set(webhook),
        event_id: Set(event_id),
        event_type: Set(event_type.to_owned()),
        payload: Set(payload),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(at)),
        last_attempt_at: Set(None),
        response_status: Set(None),
        response_body: Set(None),
        error: Set(None),
        duration_ms: Set(None),
        delivered_at: Set(None),
        created_at: Set(at),
    }
}

/// `CONFLICT` (`WEBHOOK_DISABLED`) for a disabled endpoint: nothing would be sent.
fn refuse_disabled(webhook: &webhooks::Model) -> AppResult<()> {
    if webhook.disabled_at.is_some() {
        return Err(AppError::rule(
            Some("id"),
            "WEBHOOK_DISABLED",
            "the endpoint is disabled: enable it (updateWebhook) first",
        ));
    }
    Ok(())
}

/// Sends an event again: a new delivery of the same event (same id, same body), due now.
pub async fn redeliver(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<webhook_deliveries::Model> {
    viewer.require(Action::ManageWebhooks)?;
    let delivery = webhook_deliveries::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("id", "no webhook delivery with this id"))?;
    let webhook = find(db, delivery.webhook_id).await?;
    refuse_disabled(&webhook)?;
    Ok(pending(
        delivery.webhook_id,
        delivery.event_id,
        &delivery.event_type,
        delivery.payload,
        now(),
    )
    .insert(db)
    .await?)
}

async fn find(db: &DatabaseConnection, id: Uuid) -> AppResult<webhooks::Model> {
    webhooks::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("id", "no webhook with this id"))
}

fn seal(cipher: &TokenCipher, secret: &str) -> AppResult<String> {
    cipher
        .encrypt(secret)
        .map_err(|err| AppError::Internal(err.to_string()))
}

fn check_events(events: &[EventType]) -> AppResult<String> {
    if events.is_empty() {
        return Err(AppError::bad_input(
            "events",
            "name at least one event the endpoint receives",
        ));
    }
    Ok(EventType::join(events))
}

/// The endpoint's URL, if deliveries may go there: `http(s)`, no credentials, `https` in
/// production unless the host is allowed, and not an address the rules refuse (a name that
/// resolves only to such addresses included; one that does not resolve yet is accepted).
pub async fn check_url(settings: &Settings, url: &str) -> AppResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(AppError::bad_input(
            "url",
            format!("the URL is longer than {MAX_URL} characters"),
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|err| AppError::invalid("url", "INVALID_URL", format!("not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AppError::invalid(
            "url",
            "INVALID_URL",
            "the URL must start with https:// (or http://)",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AppError::invalid(
            "url",
            "INVALID_URL",
            "credentials do not belong in the URL: the signature authenticates deliveries",
        ));
    }
    let refused = |why: String| AppError::invalid("url", "ADDRESS_NOT_ALLOWED", why);
    let host = match parsed.host() {
        Some(url::Host::Domain(name)) => {
            settings.rules.check_name(name).map_err(refused)?;
            Host::Name(name.to_owned())
        }
        Some(url::Host::Ipv4(ip)) => Host::Address(ip.into()),
        Some(url::Host::Ipv6(ip)) => Host::Address(ip.into()),
        None => {
            return Err(AppError::invalid(
                "url",
                "INVALID_URL",
                "the URL has no host",
            ));
        }
    };
    let allowed = match &host {
        Host::Name(name) => settings.rules.allows_name(name),
        Host::Address(ip) => settings.rules.allows_address(*ip),
    };
    if settings.https_only && parsed.scheme() == "http" && !allowed {
        return Err(AppError::invalid(
            "url",
            "HTTPS_REQUIRED",
            "deliveries go over https in production (or to hosts in CRM_WEBHOOK_ALLOWED_HOSTS)",
        ));
    }
    match host {
        Host::Address(ip) => settings.rules.check_address("", ip).map_err(refused)?,
        Host::Name(name) => {
            let lookup = tokio::time::timeout(
                std::time::Duration::from_secs(2),
                tokio::net::lookup_host((name.as_str(), 0)),
            )
            .await;
            // A name that does not resolve (yet) is accepted: its deliveries are checked again.
            if let Ok(Ok(found)) = lookup {
                let found: Vec<_> = found.collect();
                if !found.is_empty() {
                    settings.rules.permitted(&name, found).map_err(refused)?;
                }
            }
        }
    }
    Ok(parsed.to_string())
}

enum Host {
    Name(String),
    Address(std::net::IpAddr),
}
