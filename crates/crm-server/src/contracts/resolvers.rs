//! Root fields for `Contract`.

use async_graphql::{Context, Result};
use uuid::Uuid;

use super::types::Contract;
use crate::graphql::context::{db, viewer};

crate::root_queries! {
    /// Root query fields for contracts.
    ContractQuery for Contract {
        /// One contract by id, or null when there is none.
        contract("Id of the contract.");
        /// A page of contracts: filter, sort and paginate (Relay cursor connection).
        contracts;
        /// Groups of contracts with their figures (dashboards): keys, `having`, order, pages.
        groups contract_groups;
    }
}

/// Mutations on contracts.
#[derive(Default)]
pub struct ContractMutation;

#[async_graphql::Object]
impl ContractMutation {
    /// Creates a draft contract. Returns it.
    async fn create_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new contract.")] input: super::inputs::CreateContractInput,
    ) -> Result<Contract> {
        Ok(super::service::create(db(ctx)?, viewer(ctx)?, input)
            .await?
            .into())
    }

    /// Archives a contract: it leaves lists, search and figures (unless asked for), stays
    /// reachable by id, everything under it intact; written to the history. Returns it.
    async fn archive_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
    ) -> Result<Contract> {
        Ok(
            super::service::set_archived(db(ctx)?, viewer(ctx)?, id, true)
                .await?
                .into(),
        )
    }

    /// Restores an archived contract to lists, search and figures; written to the history.
    async fn restore_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
    ) -> Result<Contract> {
        Ok(
            super::service::set_archived(db(ctx)?, viewer(ctx)?, id, false)
                .await?
                .into(),
        )
    }

    /// Changes a contract's details. Returns the contract as stored.
    async fn update_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: super::inputs::UpdateContractInput,
    ) -> Result<Contract> {
        Ok(super::service::update(db(ctx)?, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Deletes a contract that has no payments (refused with CONFLICT / HAS_DEPENDENTS
    /// otherwise: cancel it instead). Returns the deleted id.
    async fn delete_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(super::service::delete(db(ctx)?, viewer(ctx)?, id).await?)
    }

    /// Signs a draft contract: it becomes active with `signedAt` set. Requires the client's KYC
    /// (CONFLICT / KYC_INCOMPLETE otherwise).
    async fn sign_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
        #[graphql(desc = "When it was signed (default: now).")] signed_at: Option<
            crate::engine::scalars::DateTime,
        >,
    ) -> Result<Contract> {
        Ok(super::service::sign(db(ctx)?, viewer(ctx)?, id, signed_at)
            .await?
            .into())
    }

    /// Completes an active contract.
    async fn complete_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
    ) -> Result<Contract> {
        Ok(super::service::complete(db(ctx)?, viewer(ctx)?, id)
            .await?
            .into())
    }

    /// Cancels a draft or active contract; the reason is kept in the client's history.
    async fn cancel_contract(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the contract.")] id: Uuid,
        #[graphql(desc = "Why it was cancelled.")] reason: Option<String>,
    ) -> Result<Contract> {
        Ok(super::service::cancel(db(ctx)?, viewer(ctx)?, id, reason)
            .await?
            .into())
    }
}
