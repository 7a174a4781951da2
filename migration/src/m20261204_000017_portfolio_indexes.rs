//! Indexes for lists whose cost must follow the page, not the table:
//!
//! - `clients (assigned_to, company_name, id)` replaces `clients (assigned_to)`: a commercial's
//!   portfolio (the access rule `assigned_to = me`) in name order is read from the index in
//!   order, 20 rows for a page of 20, where the old index gave every client of the portfolio to
//!   sort (or the name index gave every client of every portfolio to filter): 4.8 → 0.35 ms for
//!   a page of 20 among 100,000 clients and 40 commercials. Its count reads the same index.
//! - `clients (status, company_name_lower)`: the search box within a status ("active clients
//!   whose name contains …") and its `totalCount`, answered from the index alone (a
//!   deduplicated B-tree of 0.8 MB for 100,000 clients) rather than by visiting every matching
//!   row of the table: 25 → 3.5 ms for the count of a broad match at that size on PostgreSQL,
//!   where the trigram index still serves selective patterns; SQLite scans this index instead
//!   of the table.
//! - SQLite: `contracts (outstanding_amount DESC, id)` and the same on `clients`, whole,
//!   beside the partial indexes of migrations `contract_totals` and `client_totals`: SQLite
//!   uses a partial index only when the query's own terms prove its condition, and
//!   `outstanding_amount > ?` with the value bound as a parameter does not; the collections
//!   screen sorted every active contract instead (143 ms at 10,000 clients, 0.05 ms with it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{create_index, drop_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &[&str]); 2] = [
    (
        "clients_assigned_to_name_idx",
        &["assigned_to", "company_name", "id"],
    ),
    (
        "clients_status_name_lower_idx",
        &["status", "company_name_lower"],
    ),
];

/// SQLite: whole indexes on the outstanding amounts, by table.
const SQLITE_OUTSTANDING: [(&str, &str); 2] = [
    ("contracts_outstanding_all_idx", "contracts"),
    ("clients_outstanding_all_idx", "clients"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            create_index(manager, name, "clients", columns).await?;
        }
        drop_index(manager, "clients_assigned_to_idx", "clients").await?;
        if manager.get_database_backend() == DbBackend::Sqlite {
            for (name, table) in SQLITE_OUTSTANDING {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "CREATE INDEX {name} ON {table} (outstanding_amount DESC, id)"
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            for (name, table) in SQLITE_OUTSTANDING {
                drop_index(manager, name, table).await?;
            }
        }
        create_index(
            manager,
            "clients_assigned_to_idx",
            "clients",
            &["assigned_to"],
        )
        .await?;
        for (name, _) in INDEXES {
            drop_index(manager, name, "clients").await?;
        }
        Ok(())
    }
}
