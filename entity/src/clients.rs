//! `clients`: the companies the team sells to.

use sea_orm::entity::prelude::*;

use crate::enums::ClientStatus;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub status: ClientStatus,
    pub kyc_completed: bool,
    pub kyc_completed_at: Option<DateTimeUtc>,
    pub assigned_to: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "assigned_to", to = "id")]
    pub assignee: BelongsTo<Option<super::users::Entity>>,
    #[sea_orm(has_many)]
    pub contracts: HasMany<super::contracts::Entity>,
    #[sea_orm(has_many)]
    pub payments: HasMany<super::payments::Entity>,
    #[sea_orm(has_many)]
    pub documents: HasMany<super::documents::Entity>,
    #[sea_orm(has_many)]
    pub client_notes: HasMany<super::client_notes::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
