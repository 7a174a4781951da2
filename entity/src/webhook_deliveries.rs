//! `webhook_deliveries`: one event for one endpoint (a redelivery is a new row with the same
//! `event_id`): the body sent, its attempts and the last answer.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id (the `webhook-id` header): the receiver's idempotency key.
    pub event_id: Uuid,
    pub event_type: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub response_status: Option<i32>,
    /// The start of the last answer's body.
    pub response_body: Option<String>,
    /// Why the last attempt failed, when it did.
    pub error: Option<String>,
    pub duration_ms: Option<i32>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "webhook_id", to = "id")]
    pub webhook: BelongsTo<super::webhooks::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
