//! `documents`: files uploaded for a client (and optionally one of its contracts).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    pub contract_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub file_name: String,
    pub file_path: String,
    pub mime_type: Option<String>,
    pub file_size: Option<i64>,
    pub document_type: Option<String>,
    pub sha256: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "client_id", to = "id")]
    pub client: BelongsTo<super::clients::Entity>,
    #[sea_orm(belongs_to, from = "contract_id", to = "id")]
    pub contract: BelongsTo<Option<super::contracts::Entity>>,
    #[sea_orm(belongs_to, from = "uploaded_by", to = "id")]
    pub uploader: BelongsTo<Option<super::users::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
