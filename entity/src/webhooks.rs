//! `webhooks`: endpoints that receive the changes, registered by admins. `secret` is the
//! signing secret, encrypted (see the server's `secrets`); `events` the event names it
//! receives, comma-separated.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub events: String,
    pub secret: String,
    pub created_by: Option<Uuid>,
    /// Attempts failed in a row (any delivery); reset by a success.
    pub consecutive_failures: i32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    /// Set when the endpoint is disabled (by an admin, or after failing too long).
    pub disabled_at: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub deliveries: HasMany<super::webhook_deliveries::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
