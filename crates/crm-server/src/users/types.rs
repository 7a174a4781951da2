//! The `User` output type.

use crate::client_notes::ClientNote;
use crate::client_notes::inputs::{ClientNoteFilter, ClientNoteOrderField};
use crate::clients::Client;
use crate::clients::inputs::{ClientFilter, ClientOrderField};
use crate::contracts::Contract;
use crate::contracts::inputs::{ContractFilter, ContractOrderField};
use crate::graphql::context::loaders;
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs};
use crate::oauth_email_accounts::OAuthEmailAccount;
use crate::oauth_email_accounts::inputs::{OAuthEmailAccountFilter, OAuthEmailAccountOrderField};
use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use entity::{Role, users};
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// A member of the sales team. The password hash is never exposed.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct User {
    /// Unique identifier.
    pub id: Uuid,
    /// Sign-in e-mail address (unique).
    pub email: String,
    /// Sign-in name (unique).
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// What the user may do.
    pub role: Role,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// When the user last signed in.
    pub last_login_at: Option<DateTime>,
    /// When the user was created.
    pub created_at: DateTime,
    /// When the user was last changed (maintained by the database).
    pub updated_at: DateTime,
}

impl From<users::Model> for User {
    fn from(m: users::Model) -> Self {
        User {
            id: m.id,
            email: m.email,
            username: m.username,
            first_name: m.first_name,
            last_name: m.last_name,
            role: m.role,
            is_active: m.is_active,
            last_login_at: m.last_login_at.map(DateTime::from),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for User {
    type Entity = users::Entity;
    fn id(&self) -> Uuid {
        self.id
    }
}

#[ComplexObject]
impl User {
    /// Clients assigned to the user.
    async fn clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ClientFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ClientOrderField>>,
        >,
    ) -> Result<Connection<Client>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        Ok(loaders(ctx)?
            .children::<Client>("assigned_to", self.id, args)
            .await?)
    }

    /// Contracts the user is in charge of.
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ContractFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ContractOrderField>>,
        >,
    ) -> Result<Connection<Contract>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        Ok(loaders(ctx)?
            .children::<Contract>("commercial_id", self.id, args)
            .await?)
    }

    /// Notes the user wrote.
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<ClientNoteFilter>,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<ClientNoteOrderField>>,
        >,
    ) -> Result<Connection<ClientNote>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        Ok(loaders(ctx)?
            .children::<ClientNote>("user_id", self.id, args)
            .await?)
    }

    /// Mailboxes the user connected.
    async fn email_accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "Only rows matching this filter.")] filter: Option<
            OAuthEmailAccountFilter,
        >,
        #[graphql(desc = "Sort keys, applied in order (then by id).")] order_by: Option<
            Vec<OrderBy<OAuthEmailAccountOrderField>>,
        >,
    ) -> Result<Connection<OAuthEmailAccount>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            filter,
            order_by,
        };
        Ok(loaders(ctx)?
            .children::<OAuthEmailAccount>("user_id", self.id, args)
            .await?)
    }
}

impl Listable for User {
    const NAME: &'static str = "User";
    const TABLE: &'static str = "users";
    type Filter = super::inputs::UserFilter;
    type OrderField = super::inputs::UserOrderField;
}
