//! The `Contract` output type.

use crate::clients::Client;
use crate::contracts::computed::{ContractTotals, ContractTotalsKey};
use crate::documents::Document;
use crate::graphql::context::{loaders, required};
use crate::payments::Payment;
use crate::users::User;
use async_graphql::{Context, Result, SimpleObject};
use entity::{ContractStatus, contracts};
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::{Date, DateTime, Decimal};

/// A contract signed (or being prepared) with a client.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
pub struct Contract {
    /// Unique identifier.
    pub id: Uuid,
    /// Human-facing contract number (unique).
    pub contract_number: String,
    /// Id of the client.
    pub client_id: Uuid,
    /// Id of the sales rep in charge.
    pub commercial_id: Option<Uuid>,
    /// Short description.
    pub title: String,
    /// Total value, in `currency`.
    pub amount: Decimal,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Where the contract stands in its life cycle.
    pub status: ContractStatus,
    /// First day of the contract.
    pub start_date: Option<Date>,
    /// Last day of the contract.
    pub end_date: Option<Date>,
    /// When the client signed.
    pub signed_at: Option<DateTime>,
    /// When the contract was created.
    pub created_at: DateTime,
    /// When the contract was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(Contract {
    id: "id",
    contract_number: "contractNumber",
    client_id: "clientId",
    commercial_id: "commercialId",
    title: "title",
    amount: "amount",
    currency: "currency",
    status: "status",
    start_date: "startDate",
    end_date: "endDate",
    signed_at: "signedAt",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(contracts::Model {
    id,
    contract_number,
    client_id,
    commercial_id,
    title,
    amount,
    currency,
    status,
    start_date,
    end_date,
    signed_at,
    created_at,
    updated_at
});

impl From<contracts::Model> for Contract {
    fn from(m: contracts::Model) -> Self {
        Contract {
            id: m.id,
            contract_number: m.contract_number,
            client_id: m.client_id,
            commercial_id: m.commercial_id,
            title: m.title,
            amount: Decimal::money(m.amount),
            currency: m.currency,
            status: m.status,
            start_date: m.start_date.map(Date),
            end_date: m.end_date.map(Date),
            signed_at: m.signed_at.map(DateTime::from),
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for Contract {
    type Entity = contracts::Entity;
    const TO_ONE: &'static [ToOne] = &[
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<User>("commercial", "commercial_id"),
    ];
    fn id(&self) -> Uuid {
        self.id
    }
}

crate::relation_lists! {
    impl Contract {
        /// Payments on the contract.
        payments: Payment by "contract_id";
        /// Documents of the contract.
        documents: Document by "contract_id";
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
        .map_err(crate::graphql::loader::unshare)?
        .unwrap_or_default())
}

impl Listable for Contract {
    const NAME: &'static str = "Contract";
    const TABLE: &'static str = "contracts";
    type Filter = super::inputs::ContractFilter;
    type OrderField = super::inputs::ContractOrderField;
}
