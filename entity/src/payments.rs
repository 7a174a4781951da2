//! `payments`: money received (or expected) on a contract.

use sea_orm::entity::prelude::*;

use crate::enums::PaymentStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub contract_id: Uuid,
    pub client_id: Uuid,
    #[sea_orm(column_type = "Decimal(Some((14, 2)))")]
    pub amount: Decimal,
    pub payment_date: Date,
    pub payment_method: Option<String>,
    pub status: PaymentStatus,
    pub reference: Option<String>,
    /// Set by `recordPayment` callers to make retries safe (unique when set).
    #[sea_orm(unique)]
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "contract_id", to = "id")]
    pub contract: BelongsTo<super::contracts::Entity>,
    #[sea_orm(belongs_to, from = "client_id", to = "id")]
    pub client: BelongsTo<super::clients::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
