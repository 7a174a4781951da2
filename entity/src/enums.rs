//! Roles and statuses: stored as the lowercase strings of the schema's CHECK constraints, and
//! spelled the same in GraphQL (`active`, `commercial`): what a client sends and reads is
//! what the database, its exports and the original application hold. The API's own enums
//! (sort fields, directions) keep GraphQL's SCREAMING_CASE.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;

/// What a user may do in the CRM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[graphql(rename_items = "lowercase")]
pub enum Role {
    /// Full access, including user management.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Sees and manages every client, contract and payment; no user management.
    #[sea_orm(string_value = "manager")]
    Manager,
    /// A sales rep: works on the clients assigned to them.
    #[sea_orm(string_value = "commercial")]
    #[default]
    Commercial,
}

/// Where a client stands in the sales pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[graphql(rename_items = "lowercase")]
pub enum ClientStatus {
    /// Not yet a customer.
    #[sea_orm(string_value = "prospect")]
    #[default]
    Prospect,
    /// A current customer.
    #[sea_orm(string_value = "active")]
    Active,
    /// A customer with no current business.
    #[sea_orm(string_value = "inactive")]
    Inactive,
    /// A customer that left.
    #[sea_orm(string_value = "churned")]
    Churned,
}

/// The life cycle of a contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[graphql(rename_items = "lowercase")]
pub enum ContractStatus {
    /// Being prepared; not signed yet.
    #[sea_orm(string_value = "draft")]
    #[default]
    Draft,
    /// Signed and running.
    #[sea_orm(string_value = "active")]
    Active,
    /// Delivered and closed.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Stopped before completion.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// The state of a payment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[graphql(rename_items = "lowercase")]
pub enum PaymentStatus {
    /// Announced but not received yet.
    #[sea_orm(string_value = "pending")]
    #[default]
    Pending,
    /// Received.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Attempted and failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Received, then paid back.
    #[sea_orm(string_value = "refunded")]
    Refunded,
}

impl ContractStatus {
    /// The contracts that count towards a client's value and debt: signed ones.
    pub const OWED: [ContractStatus; 2] = [ContractStatus::Active, ContractStatus::Completed];

    /// Whether the contract counts towards value and debt ([`ContractStatus::OWED`]).
    pub fn is_owed(self) -> bool {
        Self::OWED.contains(&self)
    }
}

impl PaymentStatus {
    /// The one status whose payments count as paid (a contract's `paidAmount`, overpayment
    /// checks, the latest payment date).
    pub const PAID: PaymentStatus = PaymentStatus::Completed;

    /// Whether the payment counts as paid ([`PaymentStatus::PAID`]).
    pub fn is_paid(self) -> bool {
        self == Self::PAID
    }
}
