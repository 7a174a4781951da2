//! `clients.company_name_lower`: the company name in lower case, kept by the database (a
//! generated column), so that the case-insensitive name search (`companyName: {
//! containsInsensitive: … }`, the client list's search box) compares it with `LIKE` instead of
//! lower-casing every name of the table with `ILIKE` (half the cost of the benchmark's filtered
//! page on PostgreSQL). PostgreSQL stores it; SQLite, which can only add a virtual generated
//! column to an existing table, computes it when read (what the search did before).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{add_column, drop_columns};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let stored = manager.get_database_backend() == DbBackend::Postgres;
        add_column(
            manager,
            "clients",
            ColumnDef::new("company_name_lower")
                .text()
                .generated(Expr::cust("lower(company_name)"), stored)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, "clients", &["company_name_lower"]).await
    }
}
