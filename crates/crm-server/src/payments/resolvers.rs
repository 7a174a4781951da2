//! Root fields for `Payment`.

use async_graphql::{Context, Result};
use uuid::Uuid;

use super::types::Payment;
use crate::graphql::context::{db, viewer};

crate::root_queries! {
    /// Root query fields for payments.
    PaymentQuery for Payment {
        /// One payment by id, or null when there is none.
        payment("Id of the payment.");
        /// A page of payments: filter, sort and paginate (Relay cursor connection).
        payments;
        /// Groups of payments with their figures (dashboards): keys, `having`, order, pages.
        groups payment_groups;
    }
}

/// Mutations on payments.
#[derive(Default)]
pub struct PaymentMutation;

#[async_graphql::Object]
impl PaymentMutation {
    /// Creates a payment (pending unless given) on an active or completed contract.
    async fn create_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new payment.")] input: super::inputs::CreatePaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::create(db(ctx)?, viewer(ctx)?, input)
            .await?
            .into())
    }

    /// Records a payment received (completed) and writes it to the client's history. Safe to
    /// retry with an `idempotencyKey`.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The payment received.")] input: super::inputs::RecordPaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::record(db(ctx)?, viewer(ctx)?, input)
            .await?
            .into())
    }

    /// Changes a payment. Returns the payment as stored.
    async fn update_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdatePaymentInput,
    ) -> Result<Payment> {
        Ok(super::service::update(db(ctx)?, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Refunds a completed payment and writes it to the client's history.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
    ) -> Result<Payment> {
        Ok(super::service::refund(db(ctx)?, viewer(ctx)?, id)
            .await?
            .into())
    }

    /// Deletes a pending or failed payment. Returns the deleted id.
    async fn delete_payment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the payment.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, viewer(ctx)?, id).await?)
    }
}
