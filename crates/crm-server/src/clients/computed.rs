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

/// Number of contracts of the client, whatever their status.
pub fn contract_count(s: &Scope) -> Expr {
    let c = s.child();
    Expr::cust(format!(
        "(SELECT COUNT(*) FROM contracts {c} WHERE {cid} = {id})",
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
    ))
}

/// Sum of the amounts of the client's active and completed contracts.
pub fn total_contract_value(s: &Scope) -> Expr {
    let c = s.child();
    Expr::cust(format!(
        "(SELECT {sum} FROM contracts {c} WHERE {cid} = {id} AND {status} IN {owed})",
        owed = owed_statuses(),
        sum = c.money_sum(&c.raw("amount")),
        c = c.alias,
        cid = c.raw("client_id"),
        id = s.raw("id"),
        status = c.raw("status"),
    ))
}

/// What the client still owes: the sum of its contracts' outstanding amounts (stored on each
/// contract, zero for unsigned ones).
pub fn outstanding_amount(s: &Scope) -> Expr {
    let c = s.child();
    Expr::cust(format!(
        "(SELECT {sum} FROM contracts {c} WHERE {cid} = {id})",
        sum = c.money_sum(&c.raw("outstanding_amount")),
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
                ]
            },
            |row| {
                Ok(ClientTotals {
                    contract_count: row.try_get("", "contract_count")?,
                    total_contract_value: row.try_get("", "total_contract_value")?,
                    outstanding_amount: row.try_get("", "outstanding_amount")?,
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
