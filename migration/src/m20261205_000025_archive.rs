//! `archived_at` on clients and contracts: when the row was archived (null: it is not). An
//! archived row leaves lists, search and figures by default and stays whole, reachable by id,
//! its children intact; restoring it clears the column.

use sea_orm_migration::prelude::*;

use crate::common::{add_column, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn archived_at() -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new("archived_at"));
    col.timestamp_with_time_zone().null();
    col
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(manager, "clients", archived_at()).await?;
        add_column(manager, "contracts", archived_at()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, "contracts", &["archived_at"]).await?;
        drop_columns(manager, "clients", &["archived_at"]).await
    }
}
