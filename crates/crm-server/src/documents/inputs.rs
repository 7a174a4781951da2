//! Filter and sort inputs for documents.

use async_graphql::{Enum, InputObject};
use sea_orm::sea_query::{Condition, Expr};

use crate::clients::inputs::ClientFilter;
use crate::graphql::cursor::KeyKind;
use crate::graphql::filters::{
    DateTimeFilter, EntityFilter, IntFilter, StringFilter, UuidFilter, combine, field, related,
};
use crate::graphql::order::SortField;
use crate::graphql::query::Scope;

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
    fn condition(&self, s: &Scope) -> Condition {
        let mut c = Condition::all();
        c = field(c, &self.id, s.col("id"), s);
        c = field(c, &self.client_id, s.col("client_id"), s);
        c = field(c, &self.contract_id, s.col("contract_id"), s);
        c = field(c, &self.uploaded_by_id, s.col("uploaded_by"), s);
        c = field(c, &self.file_name, s.col("file_name"), s);
        c = field(c, &self.mime_type, s.col("mime_type"), s);
        c = field(c, &self.file_size, s.col("file_size"), s);
        c = field(c, &self.document_type, s.col("document_type"), s);
        c = field(c, &self.created_at, s.col("created_at"), s);
        c = c.add(related(s, &self.client, "clients", "client_id"));
        combine(c, &self.and, &self.or, &self.not, s)
    }
}

/// Fields documents can be sorted by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentOrderField {
    /// The id.
    Id,
    /// The file name.
    FileName,
    /// The size in bytes.
    FileSize,
    /// The upload time.
    CreatedAt,
}

impl SortField for DocumentOrderField {
    fn expr(self, s: &Scope) -> Expr {
        s.col(self.name())
    }

    fn kind(self) -> KeyKind {
        match self {
            DocumentOrderField::Id => KeyKind::Uuid,
            DocumentOrderField::FileName => KeyKind::Text,
            DocumentOrderField::FileSize => KeyKind::Int,
            DocumentOrderField::CreatedAt => KeyKind::Timestamp,
        }
    }

    fn nullable(self) -> bool {
        self == DocumentOrderField::FileSize
    }

    fn name(self) -> &'static str {
        match self {
            DocumentOrderField::Id => "id",
            DocumentOrderField::FileName => "file_name",
            DocumentOrderField::FileSize => "file_size",
            DocumentOrderField::CreatedAt => "created_at",
        }
    }
}
