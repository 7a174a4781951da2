//! `contracts`, with the indexes on its client, commercial and status.

use sea_orm_migration::prelude::*;

use crate::common::{
    create_index, drop_table, foreign_key, id, money, one_of, text, timestamp_now,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table("contracts")
                    .col(id(db))
                    .col(text("contract_number").not_null().unique_key())
                    .col(ColumnDef::new("client_id").uuid().not_null())
                    .col(ColumnDef::new("commercial_id").uuid())
                    .col(text("title").not_null())
                    .col(money("amount").default(0).check(Expr::col("amount").gte(0)))
                    .col(
                        ColumnDef::new("currency")
                            .char_len(3)
                            .not_null()
                            .default("EUR"),
                    )
                    .col(text("status").not_null().default("draft").check(one_of(
                        "status",
                        &["draft", "active", "completed", "cancelled"],
                    )))
                    .col(ColumnDef::new("start_date").date())
                    .col(ColumnDef::new("end_date").date())
                    .col(ColumnDef::new("signed_at").timestamp_with_time_zone())
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "contracts",
                        "client_id",
                        "clients",
                        Some(ForeignKeyAction::Restrict),
                    ))
                    .foreign_key(&mut foreign_key(
                        "contracts",
                        "commercial_id",
                        "users",
                        Some(ForeignKeyAction::SetNull),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "contracts_client_id_idx",
            "contracts",
            &["client_id"],
        )
        .await?;
        create_index(
            manager,
            "contracts_commercial_id_idx",
            "contracts",
            &["commercial_id"],
        )
        .await?;
        create_index(manager, "contracts_status_idx", "contracts", &["status"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "contracts").await
    }
}
