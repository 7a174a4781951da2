//! What `aggregate` figures over documents.

use crate::engine::scalars::Date;
use uuid::Uuid;

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
        group DocumentGroupField, keys DocumentGroupKeys, by DocumentGroupBy,
            measure DocumentGroupMeasure, having DocumentGroupCondition, order DocumentGroupOrder {
            /// The client.
            ClientId: client_id: Uuid = KeySource::Column("client_id"),
            /// The contract.
            ContractId: contract_id: Uuid = KeySource::Column("contract_id"),
            /// Who uploaded it.
            UploadedBy: uploaded_by: Uuid = KeySource::Column("uploaded_by"),
            /// The MIME type.
            MimeType: mime_type: String = KeySource::Column("mime_type"),
            /// The document type.
            DocumentType: document_type: String = KeySource::Column("document_type"),
            /// The day of upload (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
