//! Computed user figures, as an SQL expression (filters, ordering) and a batched loader
//! (fields). One definition serves all three, so they always agree.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::Table;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, QueryStatementBuilder};
use uuid::Uuid;

use crate::contracts::computed::owed_statuses;
use crate::engine::access::visible;
use crate::engine::loader::CrmLoader;
use crate::engine::scope::{Scope, select_by_ids};
use crate::error::AppError;

/// The value of the signed contracts (active and completed) the user aliased by `s` is in
/// charge of, among the contracts the viewer sees: a commercial ranking the team sees the
/// value each colleague holds in their own portfolio, never more.
pub fn signed_contract_value(s: &Scope) -> Expr {
    let c = s.child();
    let mut sum = Query::select();
    sum.expr(Expr::cust(c.money_sum(&c.raw("amount"))))
        .from_as(Alias::new(Table::Contracts.name()), Alias::new(&c.alias))
        .and_where(
            c.col("commercial_id")
                .equals((Alias::new(&s.alias), Alias::new("id"))),
        )
        .and_where(Expr::cust(format!(
            "{} IN {}",
            c.raw("status"),
            owed_statuses()
        )));
    if let Some(rule) = visible(Table::Contracts, &c) {
        sum.cond_where(rule);
    }
    Expr::SubQuery(None, Box::new(sum.into_sub_query_statement()))
}

/// Loads a user's signed contract value by user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignedValueKey(pub Uuid);

impl Loader<SignedValueKey> for CrmLoader {
    type Value = Decimal;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[SignedValueKey],
    ) -> Result<HashMap<SignedValueKey, Decimal>, Self::Error> {
        let rows = select_by_ids(
            &self.db,
            self.viewer().map_err(Arc::new)?,
            Table::Users,
            keys.iter().map(|k| k.0),
            |s| vec![("signed", signed_contract_value(s))],
            |row| row.try_get::<Decimal>("", "signed"),
        )
        .await
        .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|(id, value)| (SignedValueKey(id), value))
            .collect())
    }
}
