//! `users`: the sales team (admins, managers, commercials).

use sea_orm::entity::prelude::*;

use crate::enums::Role;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    #[sea_orm(unique)]
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password_hash: String,
    pub is_active: bool,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(has_many)]
    pub clients: HasMany<super::clients::Entity>,
    #[sea_orm(has_many)]
    pub contracts: HasMany<super::contracts::Entity>,
    #[sea_orm(has_many)]
    pub documents: HasMany<super::documents::Entity>,
    #[sea_orm(has_many)]
    pub client_notes: HasMany<super::client_notes::Entity>,
    #[sea_orm(has_many)]
    pub oauth_email_accounts: HasMany<super::oauth_email_accounts::Entity>,
    #[sea_orm(has_many)]
    pub auth_sessions: HasMany<super::auth_sessions::Entity>,
    #[sea_orm(has_many)]
    pub api_tokens: HasMany<super::api_tokens::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
