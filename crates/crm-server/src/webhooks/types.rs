//! Output types: endpoints and their deliveries.

use async_graphql::{Context, Object, SimpleObject};
use entity::{webhook_deliveries, webhooks};
use uuid::Uuid;

use super::events::EventType;
use super::service::{self, DeliveryStatus};
use crate::engine::connection::PageInfo;
use crate::engine::scalars::DateTime;
use crate::error::AppError;
use crate::graphql::context::{db, viewer};

/// Deliveries per page by default, and at most.
const DEFAULT_PAGE: u64 = 20;
const MAX_PAGE: u64 = 100;

/// An endpoint that receives events (admins only). Its secret is never shown.
pub struct Webhook(pub webhooks::Model);

/// An endpoint that receives events (admins only). Its secret is never shown.
#[Object]
impl Webhook {
    /// Unique identifier.
    async fn id(&self) -> Uuid {
        self.0.id
    }

    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// The events it receives.
    async fn events(&self) -> Vec<EventType> {
        EventType::split(&self.0.events)
    }

    /// False once disabled (by an admin, or after failing too long): nothing is sent, new
    /// events are not kept for it.
    async fn enabled(&self) -> bool {
        self.0.disabled_at.is_none()
    }

    /// When it was disabled.
    async fn disabled_at(&self) -> Option<DateTime> {
        self.0.disabled_at.map(DateTime::from)
    }

    /// Why it was disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Attempts failed in a row (reset by a success).
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }

    /// Since when its attempts have been failing.
    async fn failing_since(&self) -> Option<DateTime> {
        self.0.failing_since.map(DateTime::from)
    }

    /// When an attempt last succeeded.
    async fn last_success_at(&self) -> Option<DateTime> {
        self.0.last_success_at.map(DateTime::from)
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When it was last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    /// Its deliveries, newest first: the delivery log.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Deliveries per page (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only deliveries in this state.")] status: Option<DeliveryStatus>,
    ) -> async_graphql::Result<WebhookDeliveryConnection> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if (0..=MAX_PAGE as i32).contains(&n) => n as u64,
            Some(_) => {
                return Err(AppError::bad_input(
                    "first",
                    format!("`first` is between 0 and {MAX_PAGE}"),
                )
                .into());
            }
        };
        let after = match after {
            None => None,
            Some(cursor) => Some(Uuid::parse_str(&cursor).map_err(|_| {
                AppError::invalid("after", "INVALID_CURSOR", "not a cursor of this list")
            })?),
        };
        let (rows, more) =
            service::deliveries(db(ctx)?, viewer(ctx)?, self.0.id, status, first, after).await?;
        let cursor = |row: &webhook_deliveries::Model| row.id.to_string();
        let page_info = PageInfo {
            has_next_page: more,
            has_previous_page: after.is_some(),
            start_cursor: rows.first().map(cursor),
            end_cursor: rows.last().map(cursor),
        };
        let nodes: Vec<WebhookDelivery> = rows.into_iter().map(WebhookDelivery::from).collect();
        let edges = nodes
            .iter()
            .map(|node| WebhookDeliveryEdge {
                cursor: node.id.to_string(),
                node: node.clone(),
            })
            .collect();
        Ok(WebhookDeliveryConnection {
            edges,
            nodes,
            page_info,
            webhook: self.0.id,
            status,
        })
    }
}

/// A page of deliveries (Relay cursor connection).
pub struct WebhookDeliveryConnection {
    edges: Vec<WebhookDeliveryEdge>,
    nodes: Vec<WebhookDelivery>,
    page_info: PageInfo,
    /// What `totalCount` counts.
    webhook: Uuid,
    status: Option<DeliveryStatus>,
}

/// A page of deliveries (Relay cursor connection).
#[Object]
impl WebhookDeliveryConnection {
    /// The deliveries of the page, with their cursors.
    async fn edges(&self) -> &[WebhookDeliveryEdge] {
        &self.edges
    }

    /// The deliveries of the page.
    async fn nodes(&self) -> &[WebhookDelivery] {
        &self.nodes
    }

    /// Where the page sits in the whole log.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// Deliveries in the whole log (with the `status` asked), counted when asked.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(service::count_deliveries(db(ctx)?, viewer(ctx)?, self.webhook, self.status).await?)
    }
}

/// A delivery and its cursor.
#[derive(SimpleObject)]
pub struct WebhookDeliveryEdge {
    /// Pass it as `after` for the deliveries that follow.
    pub cursor: String,
    /// The delivery.
    pub node: WebhookDelivery,
}

/// One event sent to one endpoint, and its attempts.
#[derive(SimpleObject, Clone)]
pub struct WebhookDelivery {
    /// Unique identifier (UUIDv7: by creation time).
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event's id, sent as `webhook-id`: the same for every endpoint and redelivery.
    pub event_id: Uuid,
    /// What happened (null for a test event, `webhook.ping`, or an event of a newer version).
    pub event: Option<EventType>,
    /// The event's type as sent (`payment.created`, `webhook.ping` …).
    pub event_type: String,
    /// The body sent, exactly (JSON).
    pub payload: String,
    /// Pending, delivered or failed.
    pub status: DeliveryStatus,
    /// Attempts made (or started).
    pub attempts: i32,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<DateTime>,
    /// When the last attempt started.
    pub last_attempt_at: Option<DateTime>,
    /// The HTTP status of the last answer.
    pub response_status: Option<i32>,
    /// The start of the last answer's body (1 KiB at most).
    pub response_body: Option<String>,
    /// Why the last attempt failed: `HTTP 500`, `timed out`, a refused address …
    pub error: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub duration_ms: Option<i32>,
    /// When the endpoint answered 2xx.
    pub delivered_at: Option<DateTime>,
    /// When the event was queued for this endpoint.
    pub created_at: DateTime,
}

impl From<webhook_deliveries::Model> for WebhookDelivery {
    fn from(m: webhook_deliveries::Model) -> Self {
        WebhookDelivery {
            id: m.id,
            webhook_id: m.webhook_id,
            event_id: m.event_id,
            event: EventType::parse(&m.event_type),
            event_type: m.event_type,
            payload: m.payload,
            status: DeliveryStatus::parse(&m.status),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at.map(DateTime::from),
            last_attempt_at: m.last_attempt_at.map(DateTime::from),
            response_status: m.response_status,
            response_body: m.response_body,
            error: m.error,
            duration_ms: m.duration_ms,
            delivered_at: m.delivered_at.map(DateTime::from),
            created_at: m.created_at.into(),
        }
    }
}

/// A new endpoint, and its secret when it was generated (shown this once).
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The endpoint.
    pub webhook: Webhook,
    /// The generated signing secret (`whsec_…`); null when you gave one.
    pub secret: Option<String>,
}
