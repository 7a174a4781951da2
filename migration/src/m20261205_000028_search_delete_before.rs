//! SQLite: a searched row's entry is removed *before* the row (it was after). After the row,
//! the entry's removal ran while SQLite carried out the row's foreign-key actions (a client's
//! notes and documents deleted with it), and some deletes of a client with notes kept its
//! notes (one run in two of `database::deletes_follow_the_reference_on_delete_rules`).
//! PostgreSQL is unchanged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SEARCHED: [(&str, &str); 4] = [
    ("clients", "client"),
    ("contracts", "contract"),
    ("client_notes", "note"),
    ("documents", "document"),
];

async fn recreate(manager: &SchemaManager<'_>, when: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let mut sql = String::new();
    for (table, kind) in SEARCHED {
        sql.push_str(&format!(
            "DROP TRIGGER IF EXISTS {table}_search_delete; \
             CREATE TRIGGER {table}_search_delete {when} DELETE ON {table} BEGIN \
               DELETE FROM search_entries WHERE kind = '{kind}' AND id = OLD.id; END; "
        ));
    }
    manager.get_connection().execute_unprepared(&sql).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, "BEFORE").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, "AFTER").await
    }
}
