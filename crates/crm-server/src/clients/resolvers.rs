//! Root fields for `Client`.

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{ClientFilter, ClientOrderField};
use super::types::Client;
use crate::graphql::context::{db, loaders};
use crate::graphql::order::OrderBy;
use crate::graphql::pagination::{Connection, ListArgs, fetch_page};
use sea_orm::sea_query::Condition;

/// Root query fields for clients.
#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client by id, or null when there is none.
    async fn client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Option<Client>> {
        Ok(loaders(ctx)?.by_id::<Client>(id).await?)
    }
    /// A page of clients: filter, sort and paginate (Relay cursor connection).
    #[graphql(name = "clients")]
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
        let limits = loaders(ctx)?.limits();
        Ok(fetch_page::<Client>(db(ctx)?, args, limits, Condition::all()).await?)
    }
}

/// Mutations on clients.
#[derive(Default)]
pub struct ClientMutation;

#[async_graphql::Object]
impl ClientMutation {
    /// Creates a client (status PROSPECT unless given). Returns it.
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new client.")] input: super::inputs::CreateClientInput,
    ) -> Result<Client> {
        Ok(super::service::create(db(ctx)?, input).await?.into())
    }

    /// Changes a client's details. Returns the client as stored.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdateClientInput,
    ) -> Result<Client> {
        Ok(super::service::update(db(ctx)?, id, input).await?.into())
    }

    /// Deletes a client that has no contracts (refused with CONFLICT / HAS_DEPENDENTS
    /// otherwise). Returns the deleted id.
    async fn delete_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, id).await?)
    }

    /// Marks the client's know-your-customer checks as complete (required before signing a
    /// contract). Writes the event to the client's history.
    async fn complete_client_kyc(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Client> {
        Ok(super::service::complete_kyc(db(ctx)?, id).await?.into())
    }

    /// Assigns the client to a user, or unassigns it with `userId: null`. Writes the event to
    /// the client's history.
    async fn assign_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
        #[graphql(desc = "The user to assign it to; null to unassign.")] user_id: Option<Uuid>,
    ) -> Result<Client> {
        Ok(super::service::assign(db(ctx)?, id, user_id).await?.into())
    }
}
