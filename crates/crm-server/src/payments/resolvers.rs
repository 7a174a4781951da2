//! Root fields for `Payment`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{PaymentFilter, PaymentOrderField};
use super::types::Payment;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

/// Root query fields for payments.
#[derive(Default)]
pub struct PaymentQuery;

#[Object]
impl PaymentQuery {
    /// One payment by id, or null when there is none.
    async fn payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
    ) -> Result<Option<Payment>> {
        Ok(loaders(ctx)?.by_id::<Payment>(id).await?)
    }
    /// A page of payments: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "payments")]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<PaymentFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<PaymentOrderField>>,
        >,
    ) -> Result<Connection<Payment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<Payment>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}
