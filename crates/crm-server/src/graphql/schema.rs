//! Schema assembly: one root object per domain, merged.

use async_graphql::{MergedObject, Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::auth::{AuthMutation, AuthQuery, AuthService};
use crate::client_notes::{ClientNoteMutation, ClientNoteQuery};
use crate::clients::{ClientMutation, ClientQuery};
use crate::contracts::{ContractMutation, ContractQuery};
use crate::documents::{DocumentMutation, DocumentQuery};
use crate::oauth_email_accounts::{
    MailboxQuery, OAuthEmailAccountMutation, OAuthEmailAccountQuery,
};
use crate::payments::{PaymentMutation, PaymentQuery};
use crate::search::SearchQuery;
use crate::users::{UserMutation, UserQuery};
use crate::webhooks::{WebhookMutation, WebhookQuery};

/// Every root query field.
#[derive(MergedObject, Default)]
pub struct Query(
    AuthQuery,
    ClientQuery,
    ContractQuery,
    PaymentQuery,
    UserQuery,
    DocumentQuery,
    ClientNoteQuery,
    OAuthEmailAccountQuery,
    MailboxQuery,
    WebhookQuery,
    SearchQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    UserMutation,
    ClientMutation,
    ContractMutation,
    PaymentMutation,
    ClientNoteMutation,
    DocumentMutation,
    OAuthEmailAccountMutation,
    WebhookMutation,
);

/// The CRM schema.
pub type CrmSchema = Schema<Query, Mutation, crate::live::events::Subscription>;

/// What async-graphql itself checks, and whether introspection is answered. The limits on
/// depth, size and cost are checked before it sees a document (`graphql::limits`).
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Selection sets nested, fragments included (async-graphql's recursive depth).
    pub recursion: usize,
    /// Answer `__schema` / `__type` queries (off by default in production).
    pub introspection: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        SchemaLimits {
            recursion: crate::graphql::limits::Limits::default().recursion(),
            introspection: true,
        }
    }
}

/// Builds the schema. `db` is `None` only to print the SDL.
/// `validation`: `Strict` (every rule) except for the schema that runs requests known to pass
/// them (see `graphql::documents`), which checks only the limits (`Fast`).
pub fn build_schema(
    db: Option<DatabaseConnection>,
    limits: SchemaLimits,
    cipher: Option<std::sync::Arc<crate::secrets::TokenCipher>>,
    auth: Option<std::sync::Arc<AuthService>>,
    files: Option<std::sync::Arc<crate::documents::service::Files>>,
    feed: Option<std::sync::Arc<crate::live::feed::Feed>>,
    webhooks: Option<std::sync::Arc<crate::webhooks::Settings>>,
    mailboxes: Option<std::sync::Arc<crate::oauth_email_accounts::providers::Providers>>,
    validation: ValidationMode,
) -> CrmSchema {
    // No extensions: the row fast path (`engine::rows`) does not call per-field hooks.
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        crate::live::events::Subscription,
    )
    .limit_recursive_depth(limits.recursion)
    .validation_mode(validation);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    if let Some(cipher) = cipher {
        builder = builder.data(cipher);
    }
    if let Some(auth) = auth {
        builder = builder.data(auth);
    }
    if let Some(files) = files {
        builder = builder.data(files);
    }
    if let Some(feed) = feed {
        builder = builder.data(feed);
    }
    if let Some(webhooks) = webhooks {
        builder = builder.data(webhooks);
    }
    if let Some(mailboxes) = mailboxes {
        builder = builder.data(mailboxes);
    }
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema(
        None,
        SchemaLimits::default(),
        None,
        None,
        None,
        None,
        None,
        None,
        ValidationMode::Strict,
    )
    .sdl()
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_schema;

    use crate::engine::joins::check_joins;
    use crate::engine::rows::tests::check_columns;

    /// Each record type's declaration agrees with the schema: its column fields are fields
    /// of its type, of the same type, reading columns of its table; its joinable relations are
    /// fields too.
    #[test]
    fn record_declarations_match_the_schema() {
        let sdl = super::sdl();
        let Ok(schema) = parse_schema(&sdl) else {
            panic!("the SDL does not parse");
        };
        macro_rules! check {
            ($($ty:ty),*) => {$(
                check_columns::<$ty>(&schema);
                check_joins::<$ty>(&sdl);
            )*};
        }
        check!(
            crate::users::User,
            crate::clients::Client,
            crate::contracts::Contract,
            crate::payments::Payment,
            crate::documents::Document,
            crate::client_notes::ClientNote,
            crate::oauth_email_accounts::OAuthEmailAccount
        );
    }
}
