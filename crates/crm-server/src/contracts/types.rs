//! The `Contract` output type.

use async_graphql::SimpleObject;
use entity::{ContractStatus, contracts};
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::scalars::{Date, DateTime, Decimal};

/// A contract signed (or being prepared) with a client.
#[derive(Debug, Clone, SimpleObject)]
pub struct Contract {
    /// Unique identifier.
    pub id: Uuid,
    /// Human-facing contract number (unique).
    pub contract_number: String,
    /// Id of the client.
    pub client_id: Uuid,
    /// Id of the sales rep in charge.
    pub commercial_id: Option<Uuid>,
    /// Short description.
    pub title: String,
    /// Total value, in `currency`.
    pub amount: Decimal,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Where the contract stands in its life cycle.
    pub status: ContractStatus,
    /// First day of the contract.
    pub start_date: Option<Date>,
    /// Last day of the contract.
    pub end_date: Option<Date>,
    /// When the client signed.
    pub signed_at: Option<DateTime>,
    /// When the contract was created.
    pub created_at: DateTime,
    /// When the contract was last changed (maintained by the database).
    pub updated_at: DateTime,
}

impl From<contracts::Model> for Contract {
    fn from(m: contracts::Model) -> Self {
        Contract {
            id: m.id,
            contract_number: m.contract_number,
            client_id: m.client_id,
            commercial_id: m.commercial_id,
            title: m.title,
            amount: Decimal::money(m.amount),
            currency: m.currency,
            status: m.status,
            start_date: m.start_date.map(Date),
            end_date: m.end_date.map(Date),
            signed_at: m.signed_at.map(DateTime::from),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for Contract {
    type Entity = contracts::Entity;
    fn id(&self) -> Uuid {
        self.id
    }
}
