//! Filter and sort inputs for clients.

use crate::contracts::inputs::ContractListFilter;
use crate::payments::inputs::PaymentListFilter;
use async_graphql::InputObject;
use entity::ClientStatus;
use entity::Table;
use sea_orm::sea_query::Condition;

use super::computed;
use crate::engine::filters::{
    BooleanFilter, DateTimeFilter, DecimalFilter, EntityFilter, EnumFilter, IntFilter,
    StringFilter, UuidFilter, archived, combine, field, related, unarchived,
};
use crate::engine::scope::Scope;
use crate::users::inputs::UserFilter;

/// Which clients to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<ClientFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<ClientFilter>>,
    /// This filter does not match.
    pub not: Option<Box<ClientFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the company name.
    pub company_name: Option<StringFilter>,
    /// Filter on the e-mail address.
    pub email: Option<StringFilter>,
    /// Filter on the phone number.
    pub phone: Option<StringFilter>,
    /// Filter on the city.
    pub city: Option<StringFilter>,
    /// Filter on the postal code.
    pub postal_code: Option<StringFilter>,
    /// Filter on the country.
    pub country: Option<StringFilter>,
    /// Filter on the pipeline status.
    pub status: Option<EnumFilter<ClientStatus>>,
    /// Filter on whether KYC is complete.
    pub kyc_completed: Option<BooleanFilter>,
    /// Filter on when KYC was completed.
    pub kyc_completed_at: Option<DateTimeFilter>,
    /// Filter on the assigned user's id.
    pub assigned_to_id: Option<UuidFilter>,
    /// Filter on the creation time.
    pub created_at: Option<DateTimeFilter>,
    /// Filter on the last change time.
    pub updated_at: Option<DateTimeFilter>,
    /// Filter on the number of contracts.
    pub contract_count: Option<IntFilter>,
    /// Filter on the value of active and completed contracts.
    pub total_contract_value: Option<DecimalFilter>,
    /// Filter on the amount still owed.
    pub outstanding_amount: Option<DecimalFilter>,
    /// Filter on what the client has paid (the sum of its completed payments).
    pub paid_amount: Option<DecimalFilter>,
    /// The assigned user matches (clients with no assignee never match).
    pub assigned_to: Option<Box<UserFilter>>,
    /// Filter on the client's contracts.
    pub contracts: Option<ContractListFilter>,
    /// Filter on the client's payments.
    pub payments: Option<PaymentListFilter>,
    /// Archived rows only (`true`) or rows not archived (`false`). Lists leave archived rows
    /// out unless this or `includeArchived` is given.
    pub archived: Option<bool>,
    /// Archived rows too (lists leave them out by default).
    pub include_archived: Option<bool>,
}

crate::list_filter!(ClientListFilter of ClientFilter);

impl EntityFilter for ClientFilter {
    const TABLE: Table = Table::Clients;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        if let Some(name) = &self.company_name {
            let lower = Some(s.col("company_name_lower"));
            c = c.add(name.condition_lowered(s.col("company_name"), lower, s));
        }
        c = field(c, &self.email, || s.col("email"), s);
        c = field(c, &self.phone, || s.col("phone"), s);
        c = field(c, &self.city, || s.col("city"), s);
        c = field(c, &self.postal_code, || s.col("postal_code"), s);
        c = field(c, &self.country, || s.col("country"), s);
        c = field(c, &self.status, || s.col("status"), s);
        c = field(c, &self.kyc_completed, || s.col("kyc_completed"), s);
        c = field(c, &self.kyc_completed_at, || s.col("kyc_completed_at"), s);
        c = field(c, &self.assigned_to_id, || s.col("assigned_to"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = field(c, &self.updated_at, || s.col("updated_at"), s);
        c = field(c, &self.contract_count, || computed::contract_count(s), s);
        c = field(
            c,
            &self.total_contract_value,
            || computed::total_contract_value(s),
            s,
        );
        c = field(
            c,
            &self.outstanding_amount,
            || computed::outstanding_amount(s),
            s,
        );
        c = field(c, &self.paid_amount, || computed::paid_amount(s), s);
        c = c.add(related(s, &self.assigned_to, "assigned_to"));
        if let Some(contracts) = &self.contracts {
            c = c.add(contracts.condition(s, "client_id"));
        }
        if let Some(payments) = &self.payments {
            c = c.add(payments.condition(s, "client_id"));
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
    /// Fields clients can be sorted by.
    ClientOrderField, input ClientOrder, on s {
        /// The id (creation order for ids made by this server).
        Id: Uuid = s.col("id"),
        /// The company name.
        CompanyName: Text = s.col("company_name"),
        /// The e-mail address.
        Email: Text nullable = s.col("email"),
        /// The city.
        City: Text nullable = s.col("city"),
        /// The country.
        Country: Text nullable = s.col("country"),
        /// The pipeline status.
        Status: Text = s.col("status"),
        /// When KYC was completed.
        KycCompletedAt: Timestamp nullable = s.col("kyc_completed_at"),
        /// The creation time.
        CreatedAt: Timestamp = s.col("created_at"),
        /// The last change time.
        UpdatedAt: Timestamp = s.col("updated_at"),
        /// The number of contracts.
        ContractCount: Int = computed::contract_count(s),
        /// The value of active and completed contracts.
        TotalContractValue: Decimal = computed::total_contract_value(s),
        /// The amount still owed.
        OutstandingAmount: Decimal = computed::outstanding_amount(s),
        /// What the client has paid (the sum of its completed payments).
        PaidAmount: Decimal = computed::paid_amount(s),
    }
}

/// A new client.
#[derive(InputObject, Debug)]
pub struct CreateClientInput {
    /// Legal or trading name (not blank).
    pub company_name: String,
    /// Main contact e-mail address.
    pub email: Option<String>,
    /// Main contact phone number.
    pub phone: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Pipeline status (default prospect).
    pub status: Option<ClientStatus>,
    /// The user to assign the client to.
    pub assigned_to_id: Option<uuid::Uuid>,
}

/// Changes to a client; absent fields are left as they are, `null` clears an optional field.
/// Assignment and KYC have their own mutations (`assignClient`, `completeClientKyc`).
#[derive(InputObject, Debug)]
pub struct UpdateClientInput {
    /// Legal or trading name (cannot be null).
    pub company_name: async_graphql::MaybeUndefined<String>,
    /// Main contact e-mail address.
    pub email: async_graphql::MaybeUndefined<String>,
    /// Main contact phone number.
    pub phone: async_graphql::MaybeUndefined<String>,
    /// Street address.
    pub address: async_graphql::MaybeUndefined<String>,
    /// City.
    pub city: async_graphql::MaybeUndefined<String>,
    /// Postal code.
    pub postal_code: async_graphql::MaybeUndefined<String>,
    /// Country.
    pub country: async_graphql::MaybeUndefined<String>,
    /// Pipeline status (cannot be null).
    pub status: async_graphql::MaybeUndefined<ClientStatus>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the client changed since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
