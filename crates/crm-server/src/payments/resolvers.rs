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

/// Mutations on payments.
#[derive(Default)]
pub struct PaymentMutation;

#[async_graphql::Object]
impl PaymentMutation {
    /// Creates a payment (PENDING unless given) on an ACTIVE or COMPLETED contract.
    async fn create_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new payment.")] input: super::inputs::CreatePaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::create(db(ctx)?, input).await?.into())
    }

    /// Records a payment received (COMPLETED) and writes it to the client's history. Safe to
    /// retry with an `idempotencyKey`.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment received.")] input: super::inputs::RecordPaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::record(db(ctx)?, input).await?.into())
    }

    /// Changes a payment. Returns the payment as stored.
    async fn update_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdatePaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::update(db(ctx)?, id, input).await?.into())
    }

    /// Refunds a COMPLETED payment and writes it to the client's history.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
    ) -> Result<Payment> {
        Ok(super::service::refund(db(ctx)?, id).await?.into())
    }

    /// Deletes a PENDING or FAILED payment. Returns the deleted id.
    async fn delete_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, id).await?)
    }
}
