//! Filter and sort inputs for documents.

use async_graphql::InputObject;
use entity::Table;
use sea_orm::sea_query::Condition;

use crate::clients::inputs::ClientFilter;
use crate::engine::filters::{
    DateTimeFilter, EntityFilter, IntFilter, StringFilter, UuidFilter, combine, field, related,
};
use crate::engine::scope::Scope;

/// Which documents to return. Fields combine with AND; use `and`, `or` and `not` for more.
#[derive(InputObject, Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DocumentFilter {
    /// Every one of these filters matches.
    pub and: Option<Vec<DocumentFilter>>,
    /// At least one of these filters matches.
    pub or: Option<Vec<DocumentFilter>>,
    /// This filter does not match.
    pub not: Option<Box<DocumentFilter>>,
    /// Filter on the id.
    pub id: Option<UuidFilter>,
    /// Filter on the client's id.
    pub client_id: Option<UuidFilter>,
    /// Filter on the contract's id.
    pub contract_id: Option<UuidFilter>,
    /// Filter on the uploader's id.
    pub uploaded_by_id: Option<UuidFilter>,
    /// Filter on the file name.
    pub file_name: Option<StringFilter>,
    /// Filter on the media type.
    pub mime_type: Option<StringFilter>,
    /// Filter on the size in bytes.
    pub file_size: Option<IntFilter>,
    /// Filter on the kind of document.
    pub document_type: Option<StringFilter>,
    /// Filter on the upload time.
    pub created_at: Option<DateTimeFilter>,
    /// The client matches.
    pub client: Option<Box<ClientFilter>>,
}

impl EntityFilter for DocumentFilter {
    const TABLE: Table = Table::Documents;

    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, || s.col("id"), s);
        c = field(c, &self.client_id, || s.col("client_id"), s);
        c = field(c, &self.contract_id, || s.col("contract_id"), s);
        c = field(c, &self.uploaded_by_id, || s.col("uploaded_by"), s);
        c = field(c, &self.file_name, || s.col("file_name"), s);
        c = field(c, &self.mime_type, || s.col("mime_type"), s);
        c = field(c, &self.file_size, || s.col("file_size"), s);
        c = field(c, &self.document_type, || s.col("document_type"), s);
        c = field(c, &self.created_at, || s.col("created_at"), s);
        c = c.add(related(s, &self.client, "client_id"));
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

crate::sort_fields! {
    /// Fields documents can be sorted by.
    DocumentOrderField, input DocumentOrder, on s {
        /// The id.
        Id: Uuid = s.col("id"),
        /// The file name.
        FileName: Text = s.col("file_name"),
        /// The size in bytes.
        FileSize: Int nullable = s.col("file_size"),
        /// The upload time.
        CreatedAt: Timestamp = s.col("created_at"),
    }
}

/// A file for a client, and optionally one of its contracts. Sent as a multipart request
/// (see the README): `file` is the variable the file part is mapped to.
#[derive(async_graphql::InputObject)]
pub struct UploadDocumentInput {
    /// The client the document is for.
    pub client_id: uuid::Uuid,
    /// One of the client's contracts, if the document belongs to one.
    pub contract_id: Option<uuid::Uuid>,
    /// Kind of document (contract, invoice, identity …; at most 50 characters).
    pub document_type: Option<String>,
    /// The file: its type is read from its content, and must agree with its name's extension.
    pub file: async_graphql::Upload,
}

/// Changes to a document; absent fields are left as they are.
#[derive(async_graphql::InputObject, Debug)]
pub struct UpdateDocumentInput {
    /// Kind of document (null clears it).
    pub document_type: async_graphql::MaybeUndefined<String>,
    /// One of the client's contracts (null: the document belongs to none).
    pub contract_id: async_graphql::MaybeUndefined<uuid::Uuid>,
    /// The `updatedAt` you last read: the update fails with CONFLICT if the document changed
    /// since.
    pub expected_updated_at: Option<crate::engine::scalars::DateTime>,
}
