//! Root fields for `Payment`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::types::Payment;
use crate::graphql::context::loaders;

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
}
