//! The `Contract` output type.

use crate::clients::Client;
use crate::contracts::computed::{ContractTotals, ContractTotalsKey};
use crate::documents::Document;
use crate::graphql::context::{loaders, required};
use crate::payments::Payment;
use crate::users::User;
use async_graphql::{Context, Result};
use entity::{ContractStatus, contracts};
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::{Date, DateTime, Decimal};

crate::record! {
    /// A contract signed (or being prepared) with a client.
    Contract: contracts {
        /// Unique identifier.
        id: Uuid,
        /// Human-facing contract number (unique).
        contract_number: String,
        /// Id of the client.
        client_id: Uuid,
        /// Id of the sales rep in charge.
        commercial_id: Option<Uuid>,
        /// Short description.
        title: String,
        /// Total value, in `currency`.
        amount: Decimal,
        /// ISO 4217 currency code.
        currency: String,
        /// Where the contract stands in its life cycle.
        status: ContractStatus,
        /// First day of the contract.
        start_date: Option<Date>,
        /// Last day of the contract.
        end_date: Option<Date>,
        /// When the client signed.
        signed_at: Option<DateTime>,
        /// When the contract was created.
        created_at: DateTime,
        /// When the contract was last changed (maintained by the database).
        updated_at: DateTime,
        /// When it was archived (null: it is not): archived rows leave lists, search and figures
        /// unless asked for (`filter: { includeArchived: true }`, `archived: true`).
        archived_at: Option<DateTime>,
    }
    to_one [
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<User>("commercial", "commercial_id"),
    ]
    filter super::inputs::ContractFilter, order super::inputs::ContractOrderField,
    aggregate super::aggregates::ContractAggregate
}

crate::relation_lists! {
    impl Contract {
        /// Payments on the contract.
        payments: Payment by "contract_id";
        /// Documents of the contract.
        documents: Document by "contract_id";
    }

    /// What updates changed on it, field by field, newest first (managers and admins;
    /// `FORBIDDEN` for commercials).
    async fn changes(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Return the first n changes (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return changes after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<crate::audit::types::FieldChangeConnection> {
        Ok(crate::audit::types::connection(ctx, entity::Table::Contracts, self.client_id, self.id, first, after).await?)
    }

    /// The client.
    async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
        Ok(required(
            loaders(ctx)?.one::<Client>(ctx, self.client_id).await?,
            "Client",
        )?)
    }

    /// The sales rep in charge.
    async fn commercial(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(match self.commercial_id {
            Some(id) => loaders(ctx)?.one::<User>(ctx, id).await?,
            None => None,
        })
    }

    /// Sum of the completed payments.
    async fn paid_amount(&self, ctx: &Context<'_>) -> Result<Decimal> {
        Ok(Decimal::money(totals(ctx, self.id).await?.paid_amount))
    }

    /// What is still owed: the amount minus completed payments for active and completed
    /// contracts; zero for drafts and cancelled contracts.
    async fn outstanding_amount(&self, ctx: &Context<'_>) -> Result<Decimal> {
        Ok(Decimal::money(
            totals(ctx, self.id).await?.outstanding_amount,
        ))
    }

    /// Date of the latest completed payment.
    async fn last_payment_date(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        Ok(totals(ctx, self.id).await?.last_payment_date.map(Date))
    }
}

async fn totals(ctx: &Context<'_>, id: Uuid) -> Result<ContractTotals, crate::error::AppError> {
    Ok(loaders(ctx)?
        .inner()
        .load_one(ContractTotalsKey(id))
        .await
        .map_err(crate::engine::loader::unshare)?
        .unwrap_or_default())
}
