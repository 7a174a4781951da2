//! Filter and sort inputs for users.

use crate::clients::inputs::ClientListFilter;
use crate::contracts::inputs::ContractListFilter;
use async_graphql::InputObject;
use entity::Role;
use entity::Table;
use sea_orm::sea_query::Condition;

use crate::engine::filters::{
    BooleanFilter, DateTimeFilter, DecimalFilter, EntityFilter, EnumFilter, StringFilter,
    UuidFilter, combine, field,
};
use crate::engine::scope::Scope;

/// Which users to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<UserFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<UserFilter>>,
    /// This filter does not match.
    pub not: Option<Box<UserFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the e-mail address.
    pub email: Option<StringFilter>,
    /// Filter on the user name.
    pub username: Option<StringFilter>,
    /// Filter on the given name.
    pub first_name: Option<StringFilter>,
    /// Filter on the family name.
    pub last_name: Option<StringFilter>,
    /// Filter on the role.
    pub role: Option<EnumFilter<Role>>,
    /// Filter on whether the user may sign in.
    pub is_active: Option<BooleanFilter>,
    /// Filter on the last sign-in time.
    pub last_login_at: Option<DateTimeFilter>,
    /// Filter on the creation time.
    pub created_at: Option<DateTimeFilter>,
    /// Filter on the clients assigned to the user.
    pub clients: Option<ClientListFilter>,
    /// Filter on the contracts the user is in charge of.
    pub contracts: Option<ContractListFilter>,
    /// Filter on the value of the signed contracts the user is in charge of.
    pub signed_contract_value: Option<DecimalFilter>,
}

impl EntityFilter for UserFilter {
    const TABLE: Table = Table::Users;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.email, || s.col("email"), s);
        c = field(c, &self.username, || s.col("username"), s);
        c = field(c, &self.first_name, || s.col("first_name"), s);
        c = field(c, &self.last_name, || s.col("last_name"), s);
        c = field(c, &self.role, || s.col("role"), s);
        c = field(c, &self.is_active, || s.col("is_active"), s);
        c = field(c, &self.last_login_at, || s.col("last_login_at"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = field(
            c,
            &self.signed_contract_value,
            || super::computed::signed_contract_value(s),
            s,
        );
        if let Some(clients) = &self.clients {
            c = c.add(clients.condition(s, "assigned_to"));
        }
        if let Some(contracts) = &self.contracts {
            c = c.add(contracts.condition(s, "commercial_id"));
        }
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

crate::sort_fields! {
    /// Fields users can be sorted by.
    UserOrderField, input UserOrder, on s {
        /// The id.
        Id: Uuid = s.col("id"),
        /// The e-mail address.
        Email: Text = s.col("email"),
        /// The user name.
        Username: Text = s.col("username"),
        /// The given name.
        FirstName: Text = s.col("first_name"),
        /// The family name.
        LastName: Text = s.col("last_name"),
        /// The role.
        Role: Text = s.col("role"),
        /// The last sign-in time.
        LastLoginAt: Timestamp nullable = s.col("last_login_at"),
        /// The creation time.
        CreatedAt: Timestamp = s.col("created_at"),
        /// The value of the signed contracts the user is in charge of.
        SignedContractValue: Decimal = super::computed::signed_contract_value(s),
    }
}

/// A new member of the team.
#[derive(async_graphql::InputObject, Debug)]
pub struct CreateUserInput {
    /// Sign-in e-mail address (unique, stored in lower case).
    pub email: String,
    /// Sign-in name (unique; letters, digits, `.`, `_`, `-`).
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// What the user may do (default commercial).
    pub role: Option<Role>,
    /// The initial password (10 to 128 characters); the user can change it.
    #[graphql(secret)]
    pub password: String,
}

/// Changes to a user; absent fields are left as they are.
#[derive(async_graphql::InputObject, Debug, Default)]
pub struct UpdateUserInput {
    /// Sign-in e-mail address.
    pub email: Option<String>,
    /// Sign-in name.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// What the user may do.
    pub role: Option<Role>,
    /// Whether the user may sign in (false ends their sessions).
    pub is_active: Option<bool>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the user changed since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
