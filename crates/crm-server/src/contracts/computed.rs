//! Computed contract figures, as SQL expressions (filters, ordering) and a batched loader
//! (fields). One definition serves all three, so they always agree.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::dataloader::Loader;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use uuid::Uuid;

use crate::engine::loader::CrmLoader;
use crate::engine::scope::{Scope, select_by_ids, sql_list, sql_literal};
use crate::error::AppError;
use entity::{ContractStatus, PaymentStatus};

/// [`ContractStatus::OWED`] as SQL: `('active', 'completed')`.
pub fn owed_statuses() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| sql_list(&ContractStatus::OWED))
}

/// [`PaymentStatus::PAID`] as SQL: `'completed'`.
fn paid_status() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| sql_literal(PaymentStatus::PAID))
}

/// SQL for the sum of the completed payments of the contract aliased by `s`.
pub fn paid_sql(s: &Scope) -> String {
    let p = s.child();
    format!(
        "(SELECT {sum} FROM payments {p} WHERE {pcid} = {id} AND {status} = {paid})",
        sum = p.money_sum(&p.raw("amount")),
        paid = paid_status(),
        p = p.alias,
        pcid = p.raw("contract_id"),
        id = s.raw("id"),
        status = p.raw("status"),
    )
}

/// Sum of the contract's completed payments.
pub fn paid_amount(s: &Scope) -> Expr {
    Expr::cust(paid_sql(s))
}

/// What is still owed on the contract: its amount minus completed payments, for active and
/// completed contracts; zero for drafts and cancelled contracts.
pub fn outstanding_amount(s: &Scope) -> Expr {
    let case = format!(
        "CASE WHEN {status} IN {owed} THEN {amount} - {paid} ELSE 0 END",
        owed = owed_statuses(),
        status = s.raw("status"),
        amount = s.raw("amount"),
        paid = paid_sql(s),
    );
    Expr::cust(s.money(&case))
}

/// The date of the latest completed payment.
pub fn last_payment_date(s: &Scope) -> Expr {
    let p = s.child();
    Expr::cust(format!(
        "(SELECT MAX({date}) FROM payments {p} WHERE {pcid} = {id} AND {status} = {paid})",
        date = p.raw("payment_date"),
        paid = paid_status(),
        p = p.alias,
        pcid = p.raw("contract_id"),
        id = s.raw("id"),
        status = p.raw("status"),
    ))
}

/// The computed figures of one contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContractTotals {
    pub paid_amount: Decimal,
    pub outstanding_amount: Decimal,
    pub last_payment_date: Option<NaiveDate>,
}

/// Loads [`ContractTotals`] by contract id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContractTotalsKey(pub Uuid);

impl Loader<ContractTotalsKey> for CrmLoader {
    type Value = ContractTotals;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ContractTotalsKey],
    ) -> Result<HashMap<ContractTotalsKey, ContractTotals>, Self::Error> {
        let rows = select_by_ids(
            &self.db,
            self.viewer().map_err(Arc::new)?,
            entity::Table::Contracts,
            keys.iter().map(|k| k.0),
            |s| {
                vec![
                    ("paid_amount", paid_amount(s)),
                    ("outstanding_amount", outstanding_amount(s)),
                    ("last_payment_date", last_payment_date(s)),
                ]
            },
            |row| {
                Ok(ContractTotals {
                    paid_amount: row.try_get("", "paid_amount")?,
                    outstanding_amount: row.try_get("", "outstanding_amount")?,
                    last_payment_date: row.try_get("", "last_payment_date")?,
                })
            },
        )
        .await
        .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|(id, totals)| (ContractTotalsKey(id), totals))
            .collect())
    }
}
