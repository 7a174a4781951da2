//! Root fields for `Document`.

use async_graphql::{Context, Result, Upload};
use uuid::Uuid;

use super::inputs::{UpdateDocumentInput, UploadDocumentInput};
use super::service::{self, NewDocument};
use super::types::Document;
use crate::error::AppError;
use crate::graphql::context::{db, files, viewer};

crate::root_queries! {
    /// Root query fields for documents.
    DocumentQuery for Document {
        /// One document by id, or null when there is none.
        document("Id of the document.");
        /// A page of documents: filter, sort and paginate (Relay cursor connection).
        documents;
        /// Groups of documents with their figures (dashboards): keys, `having`, order, pages.
        groups document_groups;
    }
}

/// Mutations on documents.
#[derive(Default)]
pub struct DocumentMutation;

#[async_graphql::Object]
impl DocumentMutation {
    /// Uploads a file for a client (multipart request): its type is read from its content and
    /// must be an accepted one agreeing with the name's extension; a history entry is added
    /// to the client. Returns the document.
    async fn upload_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The document and its file.")] input: UploadDocumentInput,
    ) -> Result<Document> {
        let viewer = viewer(ctx)?;
        let upload = read_upload(ctx, &input.file)?;
        let new = NewDocument {
            client_id: input.client_id,
            contract_id: input.contract_id,
            document_type: input.document_type,
        };
        Ok(service::upload(db(ctx)?, files(ctx)?, viewer, new, upload)
            .await?
            .into())
    }

    /// Replaces a document's file (name, type, size and checksum follow the new file).
    async fn replace_document_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the document.")] id: Uuid,
        #[graphql(desc = "The new file.")] file: Upload,
    ) -> Result<Document> {
        let viewer = viewer(ctx)?;
        let upload = read_upload(ctx, &file)?;
        Ok(
            service::replace_file(db(ctx)?, files(ctx)?, viewer, id, upload)
                .await?
                .into(),
        )
    }

    /// Changes a document's kind or contract. Returns it as stored.
    async fn update_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the document.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: UpdateDocumentInput,
    ) -> Result<Document> {
        Ok(service::update(db(ctx)?, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Deletes a document and its file. Returns the deleted id.
    async fn delete_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the document.")] id: Uuid,
    ) -> Result<Uuid> {
        Ok(service::delete(db(ctx)?, files(ctx)?, viewer(ctx)?, id).await?)
    }
}

/// The uploaded file behind an `Upload` variable, as a stream of chunks.
fn read_upload(
    ctx: &Context<'_>,
    file: &Upload,
) -> Result<service::Upload<tokio_util::io::ReaderStream<tokio::fs::File>>, AppError> {
    let unreadable = |err: std::io::Error| {
        AppError::bad_input("file", format!("the file is not readable: {err}"))
    };
    let value = file.value(ctx).map_err(unreadable)?;
    // Copies of one file share its offset: a file used twice is read from its start again.
    let mut content = value.content;
    std::io::Seek::rewind(&mut content).map_err(unreadable)?;
    Ok(service::Upload {
        file_name: value.filename,
        body: tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::from_std(content),
            256 * 1024,
        ),
    })
}
