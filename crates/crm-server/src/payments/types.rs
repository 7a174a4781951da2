//! The `Payment` output type.

use crate::clients::Client;
use crate::contracts::Contract;
use crate::graphql::context::{loaders, required};
use async_graphql::{ComplexObject, Context, Result};
use entity::{PaymentStatus, payments};
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::{Date, DateTime, Decimal};

crate::record! {
    /// Money received (or expected) on a contract.
    Payment: payments {
        /// Unique identifier.
        id: Uuid,
        /// Id of the contract paid.
        contract_id: Uuid,
        /// Id of the paying client (always the contract's client).
        client_id: Uuid,
        /// Amount paid, in the contract's currency.
        amount: Decimal,
        /// Day of payment.
        payment_date: Date,
        /// How it was paid (transfer, card …).
        payment_method: Option<String>,
        /// State of the payment.
        status: PaymentStatus,
        /// External reference (bank transaction, invoice number …).
        reference: Option<String>,
        hidden idempotency_key,
        /// When the payment was recorded.
        created_at: DateTime,
        /// When the payment was last changed (maintained by the database).
        updated_at: DateTime,
    }
    to_one [
        ToOne::new::<Contract>("contract", "contract_id"),
        ToOne::new::<Client>("client", "client_id"),
    ]
    filter super::inputs::PaymentFilter, order super::inputs::PaymentOrderField,
    aggregate super::aggregates::PaymentAggregate
}

/// No to-many relations.
impl crate::engine::rows::ListRelations for Payment {}

#[ComplexObject]
impl Payment {
    /// What updates changed on it, field by field, newest first (managers and admins;
    /// `FORBIDDEN` for commercials).
    async fn changes(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Return the first n changes (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return changes after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<crate::audit::types::FieldChangeConnection> {
        Ok(crate::audit::types::connection(
            ctx,
            entity::Table::Payments,
            self.client_id,
            self.id,
            first,
            after,
        )
        .await?)
    }

    /// The contract paid.
    async fn contract(&self, ctx: &Context<'_>) -> Result<Contract> {
        Ok(required(
            loaders(ctx)?.one::<Contract>(ctx, self.contract_id).await?,
            "Contract",
        )?)
    }

    /// The paying client.
    async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
        Ok(required(
            loaders(ctx)?.one::<Client>(ctx, self.client_id).await?,
            "Client",
        )?)
    }
}
