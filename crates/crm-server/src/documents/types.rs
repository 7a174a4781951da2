//! The `Document` output type.

use crate::clients::Client;
use crate::contracts::Contract;
use crate::graphql::context::{loaders, required};
use crate::users::User;
use async_graphql::{ComplexObject, Context, Result, SimpleObject};
use entity::documents;
use uuid::Uuid;

use crate::graphql::joins::ToOne;
use crate::graphql::loader::Record;
use crate::graphql::pagination::Listable;
use crate::graphql::scalars::DateTime;

/// A file uploaded for a client, optionally tied to one of its contracts.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex, serial)]
pub struct Document {
    /// Unique identifier.
    pub id: Uuid,
    /// Id of the client.
    pub client_id: Uuid,
    /// Id of the contract, if the document belongs to one.
    pub contract_id: Option<Uuid>,
    /// Id of the user who uploaded it.
    pub uploaded_by_id: Option<Uuid>,
    /// Original file name.
    pub file_name: String,
    /// Where the file is stored.
    pub file_path: String,
    /// Media type, such as `application/pdf`.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub file_size: Option<i64>,
    /// Kind of document (contract, invoice, identity …).
    pub document_type: Option<String>,
    /// When the document was uploaded.
    pub created_at: DateTime,
    /// When the document was last changed (maintained by the database).
    pub updated_at: DateTime,
}

crate::columns!(Document {
    id: "id",
    client_id: "clientId",
    contract_id: "contractId",
    uploaded_by_id: "uploadedById" = uploaded_by,
    file_name: "fileName",
    file_path: "filePath",
    mime_type: "mimeType",
    file_size: "fileSize",
    document_type: "documentType",
    created_at: "createdAt",
    updated_at: "updatedAt",
});

crate::partial_model!(documents::Model {
    id,
    client_id,
    contract_id,
    uploaded_by,
    file_name,
    file_path,
    mime_type,
    file_size,
    document_type,
    created_at,
    updated_at
});

/// No to-many relations.
impl crate::graphql::rows::ListRelations for Document {}

impl From<documents::Model> for Document {
    fn from(m: documents::Model) -> Self {
        Document {
            id: m.id,
            client_id: m.client_id,
            contract_id: m.contract_id,
            uploaded_by_id: m.uploaded_by,
            file_name: m.file_name,
            file_path: m.file_path,
            mime_type: m.mime_type,
            file_size: m.file_size,
            document_type: m.document_type,
            created_at: m.created_at.into(),
            updated_at: m.updated_at.into(),
        }
    }
}

impl Record for Document {
    type Entity = documents::Entity;
    const TO_ONE: &'static [ToOne] = &[
        ToOne::new::<Client>("client", "client_id"),
        ToOne::new::<Contract>("contract", "contract_id"),
        ToOne::new::<User>("uploadedBy", "uploaded_by"),
    ];
    fn id(&self) -> Uuid {
        self.id
    }
}

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

impl Listable for Document {
    const NAME: &'static str = "Document";
    const TABLE: &'static str = "documents";
    type Filter = super::inputs::DocumentFilter;
    type OrderField = super::inputs::DocumentOrderField;
}
