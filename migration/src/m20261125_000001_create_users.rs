//! `users`.

use sea_orm_migration::prelude::*;

use crate::common::{drop_table, id, one_of, text, timestamp_now};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(id(db))
                    .col(text("email").not_null().unique_key())
                    .col(text("username").not_null().unique_key())
                    .col(text("first_name").not_null())
                    .col(text("last_name").not_null())
                    .col(
                        text("role")
                            .not_null()
                            .default("commercial")
                            .check(one_of("role", &["admin", "manager", "commercial"])),
                    )
                    .col(text("password_hash").not_null())
                    .col(
                        ColumnDef::new("is_active")
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ColumnDef::new("last_login_at").timestamp_with_time_zone())
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "users").await
    }
}
