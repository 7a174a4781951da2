//! The `Payment` output type.

use async_graphql::SimpleObject;
use entity::{PaymentStatus, payments};
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::scalars::{Date, DateTime, Decimal};

/// Money received (or expected) on a contract.
#[derive(Debug, Clone, SimpleObject)]
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
    fn id(&self) -> Uuid {
        self.id
    }
}
