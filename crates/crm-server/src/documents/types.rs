//! The `Document` output type.

use async_graphql::SimpleObject;
use entity::documents;
use uuid::Uuid;

use crate::graphql::loader::Record;
use crate::graphql::scalars::DateTime;

/// A file uploaded for a client, optionally tied to one of its contracts.
#[derive(Debug, Clone, SimpleObject)]
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
    fn id(&self) -> Uuid {
        self.id
    }
}
