//! The `Document` output type.

use crate::clients::Client;
use crate::contracts::Contract;
use crate::documents::download::{disposition, shows_inline};
use crate::error::AppError;
use crate::graphql::context::{files, loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result};
use entity::documents;
use uuid::Uuid;

use crate::engine::joins::ToOne;
use crate::engine::scalars::DateTime;

crate::record! {
    /// A file uploaded for a client, optionally tied to one of its contracts.
    Document: documents {
        /// Unique identifier.
        id: Uuid,
        /// Id of the client.
        client_id: Uuid,
        /// Id of the contract, if the document belongs to one.
        contract_id: Option<Uuid>,
        /// Id of the user who uploaded it.
        uploaded_by_id: Option<Uuid> = uploaded_by,
        /// Original file name.
        file_name: String,
        /// Where the file is stored.
        file_path: String,
        /// Media type, such as `application/pdf`.
        mime_type: Option<String>,
        /// Size in bytes.
        file_size: Option<i64>,
        /// Kind of document (contract, invoice, identity …).
        document_type: Option<String>,
        /// SHA-256 of the file's content (hexadecimal), when the server stored the file.
        sha256: Option<String>,
        /// When the document was uploaded.
        created_at: DateTime,
        /// When the document was last changed (maintained by the database).
        updated_at: DateTime,
    }
    to_one [
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<Contract>("contract", "contract_id"),
        ToOne::new::<User>("uploadedBy", "uploaded_by"),
    ]
    filter super::inputs::DocumentFilter, order super::inputs::DocumentOrderField,
    aggregate super::aggregates::DocumentAggregate
}

/// No to-many relations.
impl crate::engine::rows::ListRelations for Document {}

#[ComplexObject]
impl Document {
    /// The client.
    async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
        Ok(required(
            loaders(ctx)?.one::<Client>(ctx, self.client_id).await?,
            "Client",
        )?)
    }

    /// The contract, if the document belongs to one.
    async fn contract(&self, ctx: &Context<'_>) -> Result<Option<Contract>> {
        Ok(match self.contract_id {
            Some(id) => loaders(ctx)?.one::<Contract>(ctx, id).await?,
            None => None,
        })
    }

    /// A short-lived link to the file for `<img src>` and `<a href>` (which cannot send the
    /// `Authorization` header): whoever holds it may read the file until it expires
    /// (`CRM_DOCUMENT_LINK_SECS`). Null when the document has no stored file.
    async fn download_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            default = false,
            desc = "Shown in the browser rather than saved (images and PDF only)."
        )]
        inline: bool,
    ) -> Result<Option<String>> {
        let Some(sha256) = &self.sha256 else {
            return Ok(None);
        };
        let files = files(ctx)?;
        let mime = self
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let disposition = disposition(&self.file_name, inline && shows_inline(mime));
        let key = object_store::path::Path::parse(&self.file_path)
            .map_err(|err| AppError::Internal(format!("document key: {err}")))?;
        match files
            .storage
            .signed_url(&key, files.links.ttl, mime, &disposition)
            .await
        {
            Some(url) => Ok(Some(
                url.map_err(|err| AppError::Internal(err.to_string()))?,
            )),
            None => Ok(Some(format!(
                "{}{}",
                files.public_url,
                files
                    .links
                    .sign(self.id, sha256, inline, chrono::Utc::now())
            ))),
        }
    }

    /// The user who uploaded it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(match self.uploaded_by_id {
            Some(id) => loaders(ctx)?.one::<User>(ctx, id).await?,
            None => None,
        })
    }
}
