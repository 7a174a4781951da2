//! `contracts`: what a client signed, for how much.

use sea_orm::entity::prelude::*;

use crate::enums::ContractStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub contract_number: String,
    pub client_id: Uuid,
    pub commercial_id: Option<Uuid>,
    pub title: String,
    #[sea_orm(column_type = "Decimal(Some((14, 2)))")]
    pub amount: Decimal,
    pub currency: String,
    pub status: ContractStatus,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub signed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "client_id", to = "id")]
    pub client: BelongsTo<super::clients::Entity>,
    #[sea_orm(belongs_to, from = "commercial_id", to = "id")]
    pub commercial: BelongsTo<Option<super::users::Entity>>,
    #[sea_orm(has_many)]
    pub payments: HasMany<super::payments::Entity>,
    #[sea_orm(has_many)]
    pub documents: HasMany<super::documents::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
