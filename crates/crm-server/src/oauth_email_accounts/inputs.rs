//! Filter and sort inputs for connected mailboxes.

use async_graphql::InputObject;
use entity::Table;
use sea_orm::sea_query::Condition;

use crate::engine::filters::{
    DateTimeFilter, EntityFilter, StringFilter, UuidFilter, combine, field,
};
use crate::engine::scope::Scope;

/// Which mailboxes to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
#[graphql(name = "OAuthEmailAccountFilter")]
pub struct OAuthEmailAccountFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<OAuthEmailAccountFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<OAuthEmailAccountFilter>>,
    /// This filter does not match.
    pub not: Option<Box<OAuthEmailAccountFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the owner's id.
    pub user_id: Option<UuidFilter>,
    /// Filter on the provider.
    pub provider: Option<StringFilter>,
    /// Filter on the mailbox address.
    pub email: Option<StringFilter>,
    /// Filter on the token expiry time.
    pub token_expires_at: Option<DateTimeFilter>,
}

impl EntityFilter for OAuthEmailAccountFilter {
    const TABLE: Table = Table::OAuthEmailAccounts;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.user_id, || s.col("user_id"), s);
        c = field(c, &self.provider, || s.col("provider"), s);
        c = field(c, &self.email, || s.col("email"), s);
        c = field(c, &self.token_expires_at, || s.col("token_expires_at"), s);
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

crate::sort_fields! {
    /// Fields mailboxes can be sorted by.
    #[graphql(name = "OAuthEmailAccountOrderField")]
    OAuthEmailAccountOrderField, input OAuthEmailAccountOrder as "OAuthEmailAccountOrder", on s {
        /// The id.
        Id: Uuid = s.col("id"),
        /// The provider.
        Provider: Text = s.col("provider"),
        /// The mailbox address.
        Email: Text = s.col("email"),
        /// The connection time.
        CreatedAt: Timestamp = s.col("created_at"),
    }
}

/// A mailbox connected through OAuth, with the tokens the provider returned. The tokens are
/// encrypted before they are stored and are never returned.
#[derive(InputObject, Debug)]
#[graphql(name = "ConnectEmailAccountInput")]
pub struct ConnectEmailAccountInput {
    /// Whose mailbox it is (default: yours; only admins connect mailboxes for others).
    pub user_id: Option<uuid::Uuid>,
    /// OAuth provider (google, microsoft …).
    pub provider: String,
    /// The mailbox address.
    pub email: String,
    /// The access token.
    pub access_token: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// When the access token expires.
    pub token_expires_at: Option<crate::engine::scalars::DateTime>,
}
