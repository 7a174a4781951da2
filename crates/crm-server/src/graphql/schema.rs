//! Schema assembly: one root object per domain, merged.

use async_graphql::{EmptySubscription, MergedObject, Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::auth::{AuthMutation, AuthQuery, AuthService};
use crate::client_notes::{ClientNoteMutation, ClientNoteQuery};
use crate::clients::{ClientMutation, ClientQuery};
use crate::contracts::{ContractMutation, ContractQuery};
use crate::documents::DocumentQuery;
use crate::oauth_email_accounts::{OAuthEmailAccountMutation, OAuthEmailAccountQuery};
use crate::payments::{PaymentMutation, PaymentQuery};
use crate::users::{UserMutation, UserQuery};

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
    OAuthEmailAccountMutation,
);

/// The CRM schema.
pub type CrmSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits applied to every document, and whether introspection is answered.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Deepest selection nesting accepted.
    pub max_depth: usize,
    /// Highest complexity (roughly, fields that may be resolved) accepted.
    pub max_complexity: usize,
    /// Answer `__schema` / `__type` queries (off by default in production).
    pub introspection: bool,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        SchemaLimits {
            max_depth: 12,
            max_complexity: 2_000,
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
    validation: ValidationMode,
) -> CrmSchema {
    // No extensions: the row fast path (`graphql::rows`) does not call per-field hooks.
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
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
        ValidationMode::Strict,
    )
    .sdl()
}
