//! The `Client` output type.

use crate::client_notes::ClientNote;
use crate::clients::computed::{ClientTotals, ClientTotalsKey};
use crate::contracts::Contract;
use crate::documents::Document;
use crate::graphql::context::loaders;
use crate::graphql::scalars::Decimal;
use crate::payments::Payment;
use crate::users::User;
use async_graphql::{Context, Result, SimpleObject};
use entity::{ClientStatus, clients};
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// A company the team sells to.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
pub struct Client {
    /// Unique identifier.
    pub id: Uuid,
    /// Legal or trading name.
    pub company_name: String,
    /// Main contact e-mail address.
    pub email: Option<String>,
    /// Main contact phone number.
    pub phone: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Where the client stands in the pipeline.
    pub status: ClientStatus,
    /// Whether the know-your-customer checks are done.
    pub kyc_completed: bool,
    /// When the know-your-customer checks were completed.
    pub kyc_completed_at: Option<DateTime>,
    /// Id of the user the client is assigned to.
    pub assigned_to_id: Option<Uuid>,
    /// When the client was created.
    pub created_at: DateTime,
    /// When the client was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(Client {
    id: "id",
    company_name: "companyName",
    email: "email",
    phone: "phone",
    address: "address",
    city: "city",
    postal_code: "postalCode",
    country: "country",
    status: "status",
    kyc_completed: "kycCompleted",
    kyc_completed_at: "kycCompletedAt",
    assigned_to_id: "assignedToId" = assigned_to,
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(clients::Model {
    id,
    company_name,
    email,
    phone,
    address,
    city,
    postal_code,
    country,
    status,
    kyc_completed,
    kyc_completed_at,
    assigned_to,
    created_at,
    updated_at
});

impl From<clients::Model> for Client {
    fn from(m: clients::Model) -> Self {
        Client {
            id: m.id,
            company_name: m.company_name,
            email: m.email,
            phone: m.phone,
            address: m.address,
            city: m.city,
            postal_code: m.postal_code,
            country: m.country,
            status: m.status,
            kyc_completed: m.kyc_completed,
            kyc_completed_at: m.kyc_completed_at.map(DateTime::from),
            assigned_to_id: m.assigned_to,
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for Client {
    type Entity = clients::Entity;
    const TO_ONE: &'static [ToOne] = &[ToOne::new::<User>("assignedTo", "assigned_to")];
    fn id(&self) -> Uuid {
        self.id
    }
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
}

async fn totals(ctx: &Context<'_>, id: Uuid) -> Result<ClientTotals, crate::error::AppError> {
    Ok(loaders(ctx)?
        .inner()
        .load_one(ClientTotalsKey(id))
        .await
        .map_err(crate::graphql::loader::unshare)?
        .unwrap_or_default())
}

impl Listable for Client {
    const NAME: &'static str = "Client";
    const TABLE: &'static str = "clients";
    type Filter = super::inputs::ClientFilter;
    type OrderField = super::inputs::ClientOrderField;
}
