//! The `User` output type.

use crate::client_notes::ClientNote;
use crate::clients::Client;
use crate::contracts::Contract;
use crate::oauth_email_accounts::OAuthEmailAccount;
use async_graphql::SimpleObject;
use entity::{Role, users};
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// A member of the sales team. The password hash is never exposed.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
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

crate::columns!(User {
    id: "id",
    email: "email",
    username: "username",
    first_name: "firstName",
    last_name: "lastName",
    role: "role",
    is_active: "isActive",
    last_login_at: "lastLoginAt",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(users::Model {
    id,
    email,
    username,
    first_name,
    last_name,
    role,
    password_hash,
    is_active,
    last_login_at,
    created_at,
    updated_at
});

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

crate::relation_lists! {
    impl User {
        /// Clients assigned to the user.
        clients: Client by "assigned_to";
        /// Contracts the user is in charge of.
        contracts: Contract by "commercial_id";
        /// Notes the user wrote.
        notes: ClientNote by "user_id";
        /// Mailboxes the user connected.
        email_accounts: OAuthEmailAccount by "user_id";
    }

}

impl Listable for User {
    const NAME: &'static str = "User";
    const TABLE: &'static str = "users";
    type Filter = super::inputs::UserFilter;
    type OrderField = super::inputs::UserOrderField;
}
