//! Root fields for webhooks (admins only).

use std::sync::Arc;

use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::inputs::{CreateWebhookInput, UpdateWebhookInput};
use super::service;
use super::types::{CreateWebhookPayload, Webhook, WebhookDelivery};
use super::worker::Settings;
use crate::error::AppError;
use crate::graphql::context::{cipher, db, viewer};

fn settings<'a>(ctx: &Context<'a>) -> Result<&'a Settings, AppError> {
    ctx.data::<Arc<Settings>>()
        .map(|settings| settings.as_ref())
        .map_err(|_| AppError::Internal("schema has no webhook settings".to_owned()))
}

/// Root query fields for webhooks.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every webhook endpoint, oldest first (admins only).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let found = service::list(db(ctx)?, viewer(ctx)?).await?;
        Ok(found.into_iter().map(Webhook).collect())
    }

    /// One webhook endpoint, or null (admins only).
    async fn webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the endpoint.")] id: Uuid,
    ) -> Result<Option<Webhook>> {
        Ok(service::get(db(ctx)?, viewer(ctx)?, id).await?.map(Webhook))
    }
}

/// Managing webhook endpoints (admins only).
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint: from now on, each change of the events it names is POSTed to it,
    /// signed with its secret (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`).
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint: URL, events, secret.")] input: CreateWebhookInput,
    ) -> Result<CreateWebhookPayload> {
        let (webhook, secret) =
            service::create(db(ctx)?, viewer(ctx)?, cipher(ctx)?, settings(ctx)?, input).await?;
        Ok(CreateWebhookPayload {
            webhook: Webhook(webhook),
            secret,
        })
    }

    /// Changes an endpoint: its URL, events, secret, description; disables or re-enables it.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the endpoint.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let webhook = service::update(
            db(ctx)?,
            viewer(ctx)?,
            cipher(ctx)?,
            settings(ctx)?,
            id,
            input,
        )
        .await?;
        Ok(Webhook(webhook))
    }

    /// Removes an endpoint and its delivery log. Returns its id.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the endpoint.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(service::delete(db(ctx)?, viewer(ctx)?, id).await?)
    }

    /// Sends a test event (`webhook.ping`, `data.webhookId`) to the endpoint now, signed like
    /// the others: check the receiver's signature verification. Returns the delivery.
    async fn ping_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the endpoint.")] id: Uuid,
    ) -> Result<WebhookDelivery> {
        Ok(service::ping(db(ctx)?, viewer(ctx)?, id).await?.into())
    }

    /// Sends a delivery's event again (same event id and body), now: a new delivery.
    async fn redeliver_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the delivery to send again.")] id: Uuid,
    ) -> Result<WebhookDelivery> {
        Ok(service::redeliver(db(ctx)?, viewer(ctx)?, id).await?.into())
    }
}
