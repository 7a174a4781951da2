//! Root fields for `Client`.

use async_graphql::{Context, Result};
use uuid::Uuid;

use super::types::Client;
use crate::graphql::context::{db, files, viewer};

crate::root_queries! {
    /// Root query fields for clients.
    ClientQuery for Client {
        /// One client by id, or null when there is none.
        client("Id of the client.");
        /// A page of clients: filter, sort and paginate (Relay cursor connection).
        clients;
        /// Groups of clients with their figures (dashboards): keys, `having`, order, pages.
        groups client_groups;
    }
}

/// Mutations on clients.
#[derive(Default)]
pub struct ClientMutation;

#[async_graphql::Object]
impl ClientMutation {
    /// Creates a client (status prospect unless given). Returns it.
    async fn create_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new client.")] input: super::inputs::CreateClientInput,
    ) -> Result<Client> {
        Ok(super::service::create(db(ctx)?, viewer(ctx)?, input)
            .await?
            .into())
    }

    /// Archives a client: it leaves lists, search and figures (unless asked for), stays
    /// reachable by id, everything under it intact; written to the history. Returns it.
    async fn archive_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Client> {
        Ok(
            super::service::set_archived(db(ctx)?, viewer(ctx)?, id, true)
                .await?
                .into(),
        )
    }

    /// Restores an archived client to lists, search and figures; written to the history.
    async fn restore_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Client> {
        Ok(
            super::service::set_archived(db(ctx)?, viewer(ctx)?, id, false)
                .await?
                .into(),
        )
    }

    /// Changes a client's details. Returns the client as stored.
    async fn update_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdateClientInput,
    ) -> Result<Client> {
        Ok(super::service::update(db(ctx)?, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Deletes a client that has no contracts (refused with CONFLICT / HAS_DEPENDENTS
    /// otherwise), with its notes and documents (and their files). Returns the deleted id.
    async fn delete_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Uuid> {
        let deleted = super::service::delete(db(ctx)?, viewer(ctx)?, id).await?;
        crate::documents::service::remove_files(files(ctx)?, &deleted.files).await;
        Ok(deleted.id)
    }

    /// Marks the client's know-your-customer checks as complete (required before signing a
    /// contract). Writes the event to the client's history.
    async fn complete_client_kyc(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
    ) -> Result<Client> {
        Ok(super::service::complete_kyc(db(ctx)?, viewer(ctx)?, id)
            .await?
            .into())
    }

    /// Assigns the client to a user, or unassigns it with `userId: null`. Writes the event to
    /// the client's history.
    async fn assign_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the client.")] id: Uuid,
        #[graphql(desc = "The user to assign it to; null to unassign.")] user_id: Option<Uuid>,
    ) -> Result<Client> {
        Ok(super::service::assign(db(ctx)?, viewer(ctx)?, id, user_id)
            .await?
            .into())
    }
}
