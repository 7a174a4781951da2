//! `payments`, with the indexes on its contract, client and date.

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
                    .table("payments")
                    .col(id(db))
                    .col(ColumnDef::new("contract_id").uuid().not_null())
                    .col(ColumnDef::new("client_id").uuid().not_null())
                    .col(money("amount").check(Expr::col("amount").gt(0)))
                    .col(ColumnDef::new("payment_date").date().not_null())
                    .col(text("payment_method"))
                    .col(text("status").not_null().default("pending").check(one_of(
                        "status",
                        &["pending", "completed", "failed", "refunded"],
                    )))
                    .col(text("reference"))
                    .col(timestamp_now(db, "created_at"))
                    .col(timestamp_now(db, "updated_at"))
                    .foreign_key(&mut foreign_key(
                        "payments",
                        "contract_id",
                        "contracts",
                        Some(ForeignKeyAction::Restrict),
                    ))
                    .foreign_key(&mut foreign_key(
                        "payments",
                        "client_id",
                        "clients",
                        Some(ForeignKeyAction::Restrict),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "payments_contract_id_idx",
            "payments",
            &["contract_id"],
        )
        .await?;
        create_index(
            manager,
            "payments_client_id_idx",
            "payments",
            &["client_id"],
        )
        .await?;
        create_index(
            manager,
            "payments_payment_date_idx",
            "payments",
            &["payment_date"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "payments").await
    }
}
