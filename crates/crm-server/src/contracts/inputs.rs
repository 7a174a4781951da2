//! Filter and sort inputs for contracts.

use crate::payments::inputs::PaymentListFilter;
use async_graphql::InputObject;
use entity::ContractStatus;
use entity::Table;
use sea_orm::sea_query::Condition;

use super::computed;
use crate::clients::inputs::ClientFilter;
use crate::engine::filters::{
    DateFilter, DateTimeFilter, DecimalFilter, EntityFilter, EnumFilter, StringFilter, UuidFilter,
    archived, combine, field, related, unarchived,
};
use crate::engine::scope::Scope;
use crate::users::inputs::UserFilter;

/// Which contracts to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ContractFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<ContractFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<ContractFilter>>,
    /// This filter does not match.
    pub not: Option<Box<ContractFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the contract number.
    pub contract_number: Option<StringFilter>,
    /// Filter on the client's id.
    pub client_id: Option<UuidFilter>,
    /// Filter on the sales rep's id.
    pub commercial_id: Option<UuidFilter>,
    /// Filter on the title.
    pub title: Option<StringFilter>,
    /// Filter on the amount.
    pub amount: Option<DecimalFilter>,
    /// Filter on the currency code.
    pub currency: Option<StringFilter>,
    /// Filter on the status.
    pub status: Option<EnumFilter<ContractStatus>>,
    /// Filter on the start date.
    pub start_date: Option<DateFilter>,
    /// Filter on the end date.
    pub end_date: Option<DateFilter>,
    /// Filter on the signature time.
    pub signed_at: Option<DateTimeFilter>,
    /// Filter on the creation time.
    pub created_at: Option<DateTimeFilter>,
    /// Filter on the last change time.
    pub updated_at: Option<DateTimeFilter>,
    /// Filter on the sum of completed payments.
    pub paid_amount: Option<DecimalFilter>,
    /// Filter on the amount still owed.
    pub outstanding_amount: Option<DecimalFilter>,
    /// Filter on the date of the latest completed payment.
    pub last_payment_date: Option<DateFilter>,
    /// The client matches.
    pub client: Option<Box<ClientFilter>>,
    /// The sales rep matches (contracts with none never match).
    pub commercial: Option<Box<UserFilter>>,
    /// Filter on the contract's payments.
    pub payments: Option<PaymentListFilter>,
    /// Archived rows only (`true`) or rows not archived (`false`). Lists leave archived rows
    /// out unless this or `includeArchived` is given.
    pub archived: Option<bool>,
    /// Archived rows too (lists leave them out by default).
    pub include_archived: Option<bool>,
}

crate::list_filter!(ContractListFilter of ContractFilter);

impl EntityFilter for ContractFilter {
    const TABLE: Table = Table::Contracts;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.contract_number, || s.col("contract_number"), s);
        c = field(c, &self.client_id, || s.col("client_id"), s);
        c = field(c, &self.commercial_id, || s.col("commercial_id"), s);
        c = field(c, &self.title, || s.col("title"), s);
        c = field(c, &self.amount, || s.col("amount"), s);
        c = field(c, &self.currency, || s.col("currency"), s);
        c = field(c, &self.status, || s.col("status"), s);
        c = field(c, &self.start_date, || s.col("start_date"), s);
        c = field(c, &self.end_date, || s.col("end_date"), s);
        c = field(c, &self.signed_at, || s.col("signed_at"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = field(c, &self.updated_at, || s.col("updated_at"), s);
        c = field(c, &self.paid_amount, || computed::paid_amount(s), s);
        c = field(
            c,
            &self.outstanding_amount,
            || computed::outstanding_amount(s),
            s,
        );
        c = field(
            c,
            &self.last_payment_date,
            || computed::last_payment_date(s),
            s,
        );
        c = c.add(related(s, &self.client, "client_id"));
        c = c.add(related(s, &self.commercial, "commercial_id"));
        if let Some(payments) = &self.payments {
            c = c.add(payments.condition(s, "contract_id"));
        }
        c = archived(c, self.archived, s);
        combine(c, &self.and, &self.or, &self.not, s)
    }

    fn hidden(filter: Option<&Self>, s: &Scope) -> Option<Condition> {
        unarchived(
            filter.and_then(|f| f.archived),
            filter.and_then(|f| f.include_archived),
            s,
        )
    }
}

crate::sort_fields! {
    /// Fields contracts can be sorted by.
    ContractOrderField, input ContractOrder, on s {
        /// The id (creation order for ids made by this server).
        Id: Uuid = s.col("id"),
        /// The contract number.
        ContractNumber: Text = s.col("contract_number"),
        /// The title.
        Title: Text = s.col("title"),
        /// The amount.
        Amount: Decimal = s.col("amount"),
        /// The status.
        Status: Text = s.col("status"),
        /// The start date.
        StartDate: Date nullable = s.col("start_date"),
        /// The end date.
        EndDate: Date nullable = s.col("end_date"),
        /// The signature time.
        SignedAt: Timestamp nullable = s.col("signed_at"),
        /// The creation time.
        CreatedAt: Timestamp = s.col("created_at"),
        /// The last change time.
        UpdatedAt: Timestamp = s.col("updated_at"),
        /// The sum of completed payments.
        PaidAmount: Decimal = computed::paid_amount(s),
        /// The amount still owed.
        OutstandingAmount: Decimal = computed::outstanding_amount(s),
        /// The date of the latest completed payment.
        LastPaymentDate: Date nullable = computed::last_payment_date(s),
    }
}

/// A new contract, created as a draft (sign it with `signContract`).
#[derive(InputObject, Debug)]
pub struct CreateContractInput {
    /// Contract number (unique, not blank).
    pub contract_number: String,
    /// The client.
    pub client_id: uuid::Uuid,
    /// The sales rep in charge.
    pub commercial_id: Option<uuid::Uuid>,
    /// Short description (not blank).
    pub title: String,
    /// Total value (≥ 0, two decimals at most).
    pub amount: crate::engine::scalars::Decimal,
    /// ISO 4217 currency code (default EUR).
    pub currency: Option<String>,
    /// First day.
    pub start_date: Option<crate::engine::scalars::Date>,
    /// Last day (not before `startDate`).
    pub end_date: Option<crate::engine::scalars::Date>,
}

/// Changes to a contract; absent fields are left as they are, `null` clears an optional field.
/// The status changes through `signContract`, `completeContract` and `cancelContract`.
#[derive(InputObject, Debug)]
pub struct UpdateContractInput {
    /// Contract number (unique; cannot be null).
    pub contract_number: async_graphql::MaybeUndefined<String>,
    /// The sales rep in charge.
    pub commercial_id: async_graphql::MaybeUndefined<uuid::Uuid>,
    /// Short description (cannot be null).
    pub title: async_graphql::MaybeUndefined<String>,
    /// Total value (cannot be null; not below what was already paid).
    pub amount: async_graphql::MaybeUndefined<crate::engine::scalars::Decimal>,
    /// ISO 4217 currency code (cannot be null).
    pub currency: async_graphql::MaybeUndefined<String>,
    /// First day.
    pub start_date: async_graphql::MaybeUndefined<crate::engine::scalars::Date>,
    /// Last day (not before `startDate`).
    pub end_date: async_graphql::MaybeUndefined<crate::engine::scalars::Date>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the contract changed since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
