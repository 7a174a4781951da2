//! Filter and sort inputs for payments.

use async_graphql::InputObject;
use entity::PaymentStatus;
use entity::Table;
use sea_orm::sea_query::Condition;

use crate::clients::inputs::ClientFilter;
use crate::contracts::inputs::ContractFilter;
use crate::engine::filters::{
    DateFilter, DateTimeFilter, DecimalFilter, EntityFilter, EnumFilter, StringFilter, UuidFilter,
    combine, field, related,
};
use crate::engine::scope::Scope;

/// Which payments to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PaymentFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<PaymentFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<PaymentFilter>>,
    /// This filter does not match.
    pub not: Option<Box<PaymentFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the contract's id.
    pub contract_id: Option<UuidFilter>,
    /// Filter on the client's id.
    pub client_id: Option<UuidFilter>,
    /// Filter on the amount.
    pub amount: Option<DecimalFilter>,
    /// Filter on the payment date.
    pub payment_date: Option<DateFilter>,
    /// Filter on the payment method.
    pub payment_method: Option<StringFilter>,
    /// Filter on the status.
    pub status: Option<EnumFilter<PaymentStatus>>,
    /// Filter on the external reference.
    pub reference: Option<StringFilter>,
    /// Filter on the creation time.
    pub created_at: Option<DateTimeFilter>,
    /// Filter on the last change time.
    pub updated_at: Option<DateTimeFilter>,
    /// The contract matches.
    pub contract: Option<Box<ContractFilter>>,
    /// The client matches.
    pub client: Option<Box<ClientFilter>>,
}

crate::list_filter!(PaymentListFilter of PaymentFilter);

impl EntityFilter for PaymentFilter {
    const TABLE: Table = Table::Payments;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.contract_id, || s.col("contract_id"), s);
        c = field(c, &self.client_id, || s.col("client_id"), s);
        c = field(c, &self.amount, || s.col("amount"), s);
        c = field(c, &self.payment_date, || s.col("payment_date"), s);
        c = field(c, &self.payment_method, || s.col("payment_method"), s);
        c = field(c, &self.status, || s.col("status"), s);
        c = field(c, &self.reference, || s.col("reference"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = field(c, &self.updated_at, || s.col("updated_at"), s);
        c = c.add(related(s, &self.contract, "contract_id"));
        c = c.add(related(s, &self.client, "client_id"));
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

crate::sort_fields! {
    /// Fields payments can be sorted by.
    PaymentOrderField, input PaymentOrder, on s {
        /// The id (creation order for ids made by this server).
        Id: Uuid = s.col("id"),
        /// The amount.
        Amount: Decimal = s.col("amount"),
        /// The payment date.
        PaymentDate: Date = s.col("payment_date"),
        /// The status.
        Status: Text = s.col("status"),
        /// The creation time.
        CreatedAt: Timestamp = s.col("created_at"),
        /// The last change time.
        UpdatedAt: Timestamp = s.col("updated_at"),
    }
}

/// A new payment on a contract.
#[derive(InputObject, Debug)]
pub struct CreatePaymentInput {
    /// The contract paid (not a draft or cancelled one).
    pub contract_id: uuid::Uuid,
    /// The paying client: optional, derived from the contract; refused if it differs.
    pub client_id: Option<uuid::Uuid>,
    /// Amount (> 0, two decimals at most).
    pub amount: crate::engine::scalars::Decimal,
    /// Day of payment.
    pub payment_date: crate::engine::scalars::Date,
    /// How it was paid (transfer, card …).
    pub payment_method: Option<String>,
    /// External reference.
    pub reference: Option<String>,
    /// `pending` (default), `completed` or `failed`. Refunds go through `refundPayment`.
    pub status: Option<PaymentStatus>,
}

/// A payment received: recorded as completed and written to the client's history.
#[derive(InputObject, Debug)]
pub struct RecordPaymentInput {
    /// The contract paid (active or completed).
    pub contract_id: uuid::Uuid,
    /// Amount (> 0, two decimals at most; completed payments may not exceed the contract amount).
    pub amount: crate::engine::scalars::Decimal,
    /// Day of payment (default: today, UTC).
    pub payment_date: Option<crate::engine::scalars::Date>,
    /// How it was paid (transfer, card …).
    pub payment_method: Option<String>,
    /// External reference.
    pub reference: Option<String>,
    /// Any unique string: sending the same key again with the same values returns the payment
    /// already recorded instead of recording it twice (safe retries); with other values it is
    /// refused (CONFLICT, reason IDEMPOTENCY_KEY_REUSED).
    pub idempotency_key: Option<String>,
}

/// Changes to a payment; absent fields are left as they are, `null` clears an optional field.
#[derive(InputObject, Debug)]
pub struct UpdatePaymentInput {
    /// Amount (cannot be null).
    pub amount: async_graphql::MaybeUndefined<crate::engine::scalars::Decimal>,
    /// Day of payment (cannot be null).
    pub payment_date: async_graphql::MaybeUndefined<crate::engine::scalars::Date>,
    /// How it was paid.
    pub payment_method: async_graphql::MaybeUndefined<String>,
    /// External reference.
    pub reference: async_graphql::MaybeUndefined<String>,
    /// `pending`, `completed` or `failed` (cannot be null; refunds go through `refundPayment`).
    pub status: async_graphql::MaybeUndefined<PaymentStatus>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the payment changed since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
