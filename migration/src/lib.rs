//! Schema migrations for the CRM.
//!
//! On PostgreSQL they produce the reference schema (`shared/bench/schema.sql`): the same
//! tables, columns, types, defaults, CHECKs, foreign keys, indexes and `updated_at` triggers.
//! On SQLite they produce the closest equivalent: the same tables and constraints (foreign
//! keys are enforced by the connection), and triggers that keep `updated_at` current.
//! Backend differences live in `common.rs` and nowhere else.

// `MigrationTrait` is an `async_trait`: its methods take `&SchemaManager` as the trait writes it.
#![allow(elided_lifetimes_in_paths)]

pub use sea_orm_migration::prelude::*;

pub use m20261202_000014_contract_totals::{OWED_STATUSES_SQL, PAID_STATUS_SQL};

mod common;
mod m20261125_000001_create_users;
mod m20261125_000002_create_clients;
mod m20261125_000003_create_contracts;
mod m20261125_000004_create_payments;
mod m20261125_000005_create_documents;
mod m20261125_000006_create_client_notes;
mod m20261125_000007_create_oauth_email_accounts;
mod m20261125_000008_updated_at_triggers;
mod m20261125_000009_payment_idempotency_key;
mod m20261125_000010_auth_sessions_and_api_tokens;
mod m20261130_000011_clients_company_name_lower;
mod m20261130_000012_sqlite_relation_order_indexes;
mod m20261201_000013_spent_refresh_tokens;
mod m20261202_000014_contract_totals;
mod m20261202_000015_company_name_trigram;
mod m20261204_000016_client_totals;
mod m20261204_000017_portfolio_indexes;
mod m20261204_000018_document_sha256;
mod m20261204_000019_change_events;
mod m20261204_000020_client_email_index;
mod m20261205_000021_webhooks;
mod m20261205_000022_mailbox_connections;
mod m20261205_000023_mailbox_connection_completion;
mod m20261205_000024_search;
mod m20261205_000025_archive;
mod m20261205_000026_audit;
mod m20261205_000027_search_speed;
mod m20261205_000028_search_delete_before;
mod m20261205_000029_audit_keys;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_create_clients::Migration),
            Box::new(m20261125_000003_create_contracts::Migration),
            Box::new(m20261125_000004_create_payments::Migration),
            Box::new(m20261125_000005_create_documents::Migration),
            Box::new(m20261125_000006_create_client_notes::Migration),
            Box::new(m20261125_000007_create_oauth_email_accounts::Migration),
            Box::new(m20261125_000008_updated_at_triggers::Migration),
            Box::new(m20261125_000009_payment_idempotency_key::Migration),
            Box::new(m20261125_000010_auth_sessions_and_api_tokens::Migration),
            Box::new(m20261130_000011_clients_company_name_lower::Migration),
            Box::new(m20261130_000012_sqlite_relation_order_indexes::Migration),
            Box::new(m20261201_000013_spent_refresh_tokens::Migration),
            Box::new(m20261202_000014_contract_totals::Migration),
            Box::new(m20261202_000015_company_name_trigram::Migration),
            Box::new(m20261204_000016_client_totals::Migration),
            Box::new(m20261204_000017_portfolio_indexes::Migration),
            Box::new(m20261204_000018_document_sha256::Migration),
            Box::new(m20261204_000019_change_events::Migration),
            Box::new(m20261204_000020_client_email_index::Migration),
            Box::new(m20261205_000021_webhooks::Migration),
            Box::new(m20261205_000022_mailbox_connections::Migration),
            Box::new(m20261205_000023_mailbox_connection_completion::Migration),
            Box::new(m20261205_000024_search::Migration),
            Box::new(m20261205_000025_archive::Migration),
            Box::new(m20261205_000026_audit::Migration),
            Box::new(m20261205_000027_search_speed::Migration),
            Box::new(m20261205_000028_search_delete_before::Migration),
            Box::new(m20261205_000029_audit_keys::Migration),
        ]
    }
}
