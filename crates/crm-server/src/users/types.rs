//! The `User` output type.

use crate::client_notes::ClientNote;
use crate::clients::Client;
use crate::contracts::Contract;
use crate::oauth_email_accounts::OAuthEmailAccount;
use entity::{Role, users};
use uuid::Uuid;

use crate::engine::scalars::DateTime;

crate::record! {
    /// A member of the sales team. The password hash is never exposed.
    User: users {
        /// Unique identifier.
        id: Uuid,
        /// Sign-in e-mail address (unique).
        email: String,
        /// Sign-in name (unique).
        username: String,
        /// Given name.
        first_name: String,
        /// Family name.
        last_name: String,
        /// What the user may do.
        role: Role,
        hidden password_hash,
        /// Whether the user may sign in.
        is_active: bool,
        /// When the user last signed in.
        last_login_at: Option<DateTime>,
        /// When the user was created.
        created_at: DateTime,
        /// When the user was last changed (maintained by the database).
        updated_at: DateTime,
    }
    to_one []
    filter super::inputs::UserFilter, order super::inputs::UserOrderField,
    aggregate super::aggregates::UserAggregate
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

    /// The value of the signed contracts (active and completed) the user is in charge of,
    /// among those you may see (amounts of every currency added as they are; per currency:
    /// `contractGroups(by: [{ field: COMMERCIAL_ID }])`).
    async fn signed_contract_value(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<crate::engine::scalars::Decimal> {
        let value = crate::graphql::context::loaders(ctx)?
            .inner()
            .load_one(super::computed::SignedValueKey(self.id))
            .await
            .map_err(crate::engine::loader::unshare)?
            .unwrap_or_default();
        Ok(crate::engine::scalars::Decimal::money(value))
    }
}
