//! What `aggregate` figures over documents.

crate::aggregates! {
    /// Figures over the documents of a list (every page).
    DocumentAggregate for Document {
        distinct DocumentDistinctField {
            /// The client.
            ClientId = "client_id",
            /// The contract.
            ContractId = "contract_id",
            /// Who uploaded it.
            UploadedBy = "uploaded_by",
            /// The MIME type.
            MimeType = "mime_type",
            /// The document type.
            DocumentType = "document_type",
        }
        number DocumentNumberField {
            /// The file size in bytes.
            FileSize = "file_size",
        }
        date_time DocumentDateTimeField {
            /// When it was uploaded.
            CreatedAt = "created_at",
            /// When it was last changed.
            UpdatedAt = "updated_at",
        }
    }
}
