//! `clients`, with the indexes on its assignee, status and company name.

use sea_orm_migration::prelude::*;

use crate::common::{create_index, drop_table, foreign_key, id, one_of, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("clients")
                    .col(id(db))
                    .col(text("company_name").not_null())
                    .col(text("email"))
                    .col(text("phone"))
                    .col(text("address"))
                    .col(text("city"))
                    .col(text("postal_code"))
                    .col(text("country"))
                    .col(text("status").not_null().default("prospect").check(one_of(
                        "status",
                        &["prospect", "active", "inactive", "churned"],
                    )))
                    .col(
                        ColumnDef::new("kyc_completed")
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new("kyc_completed_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("assigned_to").uuid())
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "clients",
                        "assigned_to",
                        "users",
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "clients_assigned_to_idx",
            "clients",
            &["assigned_to"],
        )
        .await?;
        create_index(manager, "clients_status_idx", "clients", &["status"]).await?;
        create_index(
            manager,
            "clients_company_name_idx",
            "clients",
            &["company_name"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "clients").await
    }
}
