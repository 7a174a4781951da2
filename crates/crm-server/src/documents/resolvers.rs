//! Root fields for `Document`.

use super::types::Document;

crate::root_queries! {
    /// Root query fields for documents.
    DocumentQuery for Document {
        /// One document by id, or null when there is none.
        document("Id of the document.");
        /// A page of documents: filter, sort and paginate (Relay cursor connection).
        documents;
    }
}
