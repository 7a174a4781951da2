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
