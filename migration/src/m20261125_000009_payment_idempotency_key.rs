//! `payments.idempotency_key`: `recordPayment` called twice with the same key records one
//! payment. Nullable, unique when set.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("payments")
                    .add_column(ColumnDef::new("idempotency_key").text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("payments_idempotency_key_key")
                    .table("payments")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("payments_idempotency_key_key")
                    .table("payments")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("payments")
                    .drop_column("idempotency_key")
                    .to_owned(),
            )
            .await
    }
}
