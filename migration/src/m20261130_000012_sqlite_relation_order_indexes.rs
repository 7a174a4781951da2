//! SQLite only: `contracts (client_id, id)` and `payments (contract_id, id)`. A level of
//! relation pages is read ordered by parent, then by the page's order (by id unless asked
//! otherwise); with an index on the parent alone SQLite sorted the rows again in a temporary
//! B-tree (the nested page's payments statement 0.50 → 0.44 ms). PostgreSQL reads those rows
//! with a bitmap scan and sorts them whatever the indexes, so it does not get them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{create_index, drop_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, [&str; 2]); 2] = [
    (
        "contracts_client_id_id_idx",
        "contracts",
        ["client_id", "id"],
    ),
    (
        "payments_contract_id_id_idx",
        "payments",
        ["contract_id", "id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        for (name, table, columns) in INDEXES {
            create_index(manager, name, table, &columns).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        for (name, table, _) in INDEXES {
            drop_index(manager, name, table).await?;
        }
        Ok(())
    }
}
