//! The `Client` output type.

use async_graphql::SimpleObject;
use entity::{ClientStatus, clients};
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::scalars::DateTime;

/// A company the team sells to.
#[derive(Debug, Clone, SimpleObject)]
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
    fn id(&self) -> Uuid {
        self.id
    }
}
