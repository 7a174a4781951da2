//! Computed client figures, as SQL expressions (filters, ordering) and a batched loader
//! (fields). One definition serves all three, so they always agree.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use uuid::Uuid;

use crate::contracts::computed::owed_statuses;
use crate::engine::loader::CrmLoader;
use crate::engine::scope::{Scope, select_by_ids};
use crate::error::AppError;

/// The number of contracts of the client aliased by `s`, whatever their status, recomputed
/// from its contracts. What `check-totals` compares the stored `contract_count` with.
pub fn recomputed_contract_count(s: &Scope) -> String {
    let c = s.child();
    format!(
        "(SELECT COUNT(*) FROM contracts {c} WHERE {cid} = {id})",
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
    )
}

/// The sum of the amounts of the client's signed contracts ([`entity::ContractStatus::OWED`]),
/// recomputed.
pub fn recomputed_total_contract_value(s: &Scope) -> String {
    let c = s.child();
    format!(
        "(SELECT {sum} FROM contracts {c} WHERE {cid} = {id} AND {status} IN {owed})",
        owed = owed_statuses(),
        sum = c.money_sum(&c.raw("amount")),
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
        status = c.raw("status"),
    )
}

/// The sum of the client's contracts' outstanding amounts, recomputed.
pub fn recomputed_outstanding_amount(s: &Scope) -> String {
    let c = s.child();
    format!(
        "(SELECT {sum} FROM contracts {c} WHERE {cid} = {id})",
        sum = c.money_sum(&c.raw("outstanding_amount")),
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
    )
}

/// Number of contracts of the client, whatever their status: stored, kept by the database in
/// the transaction of every contract written (migration `client_totals`).
pub fn contract_count(s: &Scope) -> Expr {
    s.col("contract_count")
}

/// Sum of the amounts of the client's active and completed contracts: stored, like
/// [`contract_count`].
pub fn total_contract_value(s: &Scope) -> Expr {
    s.col("total_contract_value")
}

/// What the client still owes: the sum of its contracts' outstanding amounts (zero for
/// unsigned ones), stored like [`contract_count`]; a payment changes it through its contract.
pub fn outstanding_amount(s: &Scope) -> Expr {
    s.col("outstanding_amount")
}

/// What the client has paid: the sum of its completed payments, read from its contracts'
/// stored paid amounts (one index lookup per contract, not a scan of its payments).
pub fn paid_amount(s: &Scope) -> Expr {
    let c = s.child();
    Expr::cust(format!(
        "(SELECT {sum} FROM contracts {c} WHERE {cid} = {id})",
        sum = c.money_sum(&c.raw("paid_amount")),
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
    ))
}

/// The computed figures of one client.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientTotals {
    pub contract_count: i64,
    pub total_contract_value: Decimal,
    pub outstanding_amount: Decimal,
    pub paid_amount: Decimal,
}

/// Loads [`ClientTotals`] by client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientTotalsKey(pub Uuid);

impl Loader<ClientTotalsKey> for CrmLoader {
    type Value = ClientTotals;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ClientTotalsKey],
    ) -> Result<HashMap<ClientTotalsKey, ClientTotals>, Self::Error> {
        let rows = select_by_ids(
            &self.db,
            self.viewer().map_err(Arc::new)?,
            entity::Table::Clients,
            keys.iter().map(|k| k.0),
            |s| {
                vec![
                    ("contract_count", contract_count(s)),
                    ("total_contract_value", total_contract_value(s)),
                    ("outstanding_amount", outstanding_amount(s)),
                    ("paid_amount", paid_amount(s)),
                ]
            },
            |row| {
                Ok(ClientTotals {
                    contract_count: row.try_get("", "contract_count")?,
                    total_contract_value: row.try_get("", "total_contract_value")?,
                    outstanding_amount: row.try_get("", "outstanding_amount")?,
                    paid_amount: row.try_get("", "paid_amount")?,
                })
            },
        )
        .await
        .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|(id, totals)| (ClientTotalsKey(id), totals))
            .collect())
    }
}
