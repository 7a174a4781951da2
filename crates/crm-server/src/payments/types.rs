//! The `Payment` output type.

use crate::clients::Client;
use crate::contracts::Contract;
use crate::graphql::context::{loaders, required};
use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use entity::{PaymentStatus, payments};
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::{Date, DateTime, Decimal};

/// Money received (or expected) on a contract.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
pub struct Payment {
    /// Unique identifier.
    pub id: Uuid,
    /// Id of the contract paid.
    pub contract_id: Uuid,
    /// Id of the paying client (always the contract's client).
    pub client_id: Uuid,
    /// Amount paid, in the contract's currency.
    pub amount: Decimal,
    /// Day of payment.
    pub payment_date: Date,
    /// How it was paid (transfer, card …).
    pub payment_method: Option<String>,
    /// State of the payment.
    pub status: PaymentStatus,
    /// External reference (bank transaction, invoice number …).
    pub reference: Option<String>,
    /// When the payment was recorded.
    pub created_at: DateTime,
    /// When the payment was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(Payment {
    id: "id",
    contract_id: "contractId",
    client_id: "clientId",
    amount: "amount",
    payment_date: "paymentDate",
    payment_method: "paymentMethod",
    status: "status",
    reference: "reference",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(payments::Model {
    id,
    contract_id,
    client_id,
    amount,
    payment_date,
    payment_method,
    status,
    reference,
    idempotency_key,
    created_at,
    updated_at
});

/// No to-many relations.
impl crate::graphql::rows::ListRelations for Payment {}

impl From<payments::Model> for Payment {
    fn from(m: payments::Model) -> Self {
        Payment {
            id: m.id,
            contract_id: m.contract_id,
            client_id: m.client_id,
            amount: Decimal::money(m.amount),
            payment_date: Date(m.payment_date),
            payment_method: m.payment_method,
            status: m.status,
            reference: m.reference,
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for Payment {
    type Entity = payments::Entity;
    const TO_ONE: &'static [ToOne] = &[
        ToOne::new::<Contract>("contract", "contract_id"),
        ToOne::new::<Client>("client", "client_id"),
    ];
    fn id(&self) -> Uuid {
        self.id
    }
}

#[ComplexObject]
impl Payment {
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

impl Listable for Payment {
    const NAME: &'static str = "Payment";
    const TABLE: &'static str = "payments";
    type Filter = super::inputs::PaymentFilter;
    type OrderField = super::inputs::PaymentOrderField;
}
