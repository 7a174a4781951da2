//! The `Document` output type.

use crate::clients::Client;
use crate::contracts::Contract;
use crate::graphql::context::{loaders, required};
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
        hidden sha256,
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
    filter super::inputs::DocumentFilter, order super::inputs::DocumentOrderField
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

    /// The user who uploaded it.
    async fn uploaded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(match self.uploaded_by_id {
            Some(id) => loaders(ctx)?.one::<User>(ctx, id).await?,
            None => None,
        })
    }
}
