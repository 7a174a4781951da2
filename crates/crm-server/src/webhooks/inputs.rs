//! Inputs of the webhook mutations.

use async_graphql::InputObject;

use super::events::EventType;

/// A new endpoint.
#[derive(InputObject, Debug)]
pub struct CreateWebhookInput {
    /// Where deliveries are POSTed (`https://…`; plain `http` only in development or for
    /// hosts in `CRM_WEBHOOK_ALLOWED_HOSTS`).
    pub url: String,
    /// The events it receives (at least one).
    pub events: Vec<EventType>,
    /// The signing secret: 24 to 256 characters, or `whsec_` and base64 (as generated).
    /// Leave it out to have one generated and returned once.
    #[graphql(secret)]
    pub secret: Option<String>,
    /// What it is for.
    pub description: Option<String>,
}

/// Changes to an endpoint: the fields given are set.
#[derive(InputObject, Debug, Default)]
pub struct UpdateWebhookInput {
    /// A new URL (checked like `createWebhook`'s).
    pub url: Option<String>,
    /// The events it receives from now on (at least one).
    pub events: Option<Vec<EventType>>,
    /// A new signing secret (deliveries signed from now on use it).
    #[graphql(secret)]
    pub secret: Option<String>,
    /// What it is for (blank: none).
    pub description: Option<String>,
    /// `false` stops deliveries: those pending wait, new events are not kept for it; `true`
    /// resumes them and clears an automatic disable and its count of failures.
    pub enabled: Option<bool>,
}
