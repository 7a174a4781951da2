//! The `Client` output type.

use crate::client_notes::ClientNote;
use crate::clients::computed::{ClientTotals, ClientTotalsKey};
use crate::contracts::Contract;
use crate::documents::Document;
use crate::engine::scalars::Decimal;
use crate::graphql::context::loaders;
use crate::payments::Payment;
use crate::users::User;
use async_graphql::{Context, Result};
use entity::{ClientStatus, clients};
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::DateTime;

crate::record! {
    /// A company the team sells to.
    Client: clients {
        /// Unique identifier.
        id: Uuid,
        /// Legal or trading name.
        company_name: String,
        /// Main contact e-mail address.
        email: Option<String>,
        /// Main contact phone number.
        phone: Option<String>,
        /// Street address.
        address: Option<String>,
        /// City.
        city: Option<String>,
        /// Postal code.
        postal_code: Option<String>,
        /// Country.
        country: Option<String>,
        /// Where the client stands in the pipeline.
        status: ClientStatus,
        /// Whether the know-your-customer checks are done.
        kyc_completed: bool,
        /// When the know-your-customer checks were completed.
        kyc_completed_at: Option<DateTime>,
        /// Id of the user the client is assigned to.
        assigned_to_id: Option<Uuid> = assigned_to,
        /// When the client was created.
        created_at: DateTime,
        /// When the client was last changed (maintained by the database).
        updated_at: DateTime,
        /// When it was archived (null: it is not): archived rows leave lists, search and figures
        /// unless asked for (`filter: { includeArchived: true }`, `archived: true`).
        archived_at: Option<DateTime>,
    }
    to_one [
        ToOne::new::<User>("assignedTo", "assigned_to"),
    ]
    filter super::inputs::ClientFilter, order super::inputs::ClientOrderField,
    aggregate super::aggregates::ClientAggregate
}

crate::relation_lists! {
    impl Client {
        /// The client's contracts.
        contracts: Contract by "client_id";
        /// The client's payments.
        payments: Payment by "client_id";
        /// The client's documents.
        documents: Document by "client_id";
        /// The client's history: notes and system events.
        notes: ClientNote by "client_id";
    }

    /// The client's story, newest first: notes, history entries, contracts signed, payments
    /// received or refunded, documents and (managers and admins) the fields updates changed,
    /// each with its time and actor.
    async fn timeline(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Return the first n items (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Only these kinds of items (default: every kind).")] types: Option<
            Vec<super::timeline::TimelineKind>,
        >,
    ) -> async_graphql::Result<super::timeline::TimelineItemConnection> {
        Ok(super::timeline::timeline(ctx, self.id, first, after, types).await?)
    }

    /// What updates changed on it, field by field, newest first (managers and admins;
    /// `FORBIDDEN` for commercials).
    async fn changes(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Return the first n changes (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return changes after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<crate::audit::types::FieldChangeConnection> {
        Ok(crate::audit::types::connection(ctx, entity::Table::Clients, self.id, self.id, first, after).await?)
    }

    /// The user the client is assigned to.
    async fn assigned_to(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(match self.assigned_to_id {
            Some(id) => loaders(ctx)?.one::<User>(ctx, id).await?,
            None => None,
        })
    }

    /// Number of contracts, whatever their status.
    async fn contract_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(totals(ctx, self.id).await?.contract_count)
    }

    /// Sum of the amounts of active and completed contracts.
    async fn total_contract_value(&self, ctx: &Context<'_>) -> Result<Decimal> {
        Ok(Decimal::money(
            totals(ctx, self.id).await?.total_contract_value,
        ))
    }

    /// What the client still owes: the sum of its contracts' outstanding amounts.
    async fn outstanding_amount(&self, ctx: &Context<'_>) -> Result<Decimal> {
        Ok(Decimal::money(
            totals(ctx, self.id).await?.outstanding_amount,
        ))
    }

    /// What the client has paid: the sum of its completed payments (amounts of its
    /// contracts' currencies added as they are; per currency: `payments { aggregate }`).
    async fn paid_amount(&self, ctx: &Context<'_>) -> Result<Decimal> {
        Ok(Decimal::money(totals(ctx, self.id).await?.paid_amount))
    }
}

async fn totals(ctx: &Context<'_>, id: Uuid) -> Result<ClientTotals, crate::error::AppError> {
    Ok(loaders(ctx)?
        .inner()
        .load_one(ClientTotalsKey(id))
        .await
        .map_err(crate::engine::loader::unshare)?
        .unwrap_or_default())
}
