//! Client rules and writes. Every mutation is one transaction; domain events are written to
//! the client's history in the same transaction.

use async_graphql::MaybeUndefined;
use entity::{ClientStatus, clients, contracts, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::inputs::{CreateClientInput, UpdateClientInput};
use crate::auth::{Action, Viewer};
use crate::client_notes::service::record_event;
use crate::db::{Writable, begin_write, check_unchanged, for_update, must_exist, now, set_given};
use crate::error::{AppError, AppResult};
use crate::validate::{email, not_null, optional_text, phone, postal_code, required_text};

/// Validates an optional text update: `null` or blank clears it.
fn optional_update(
    field: &str,
    value: MaybeUndefined<String>,
    check: impl Fn(&str, Option<&str>) -> AppResult<Option<String>>,
) -> AppResult<Option<Option<String>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => Ok(Some(check(field, Some(&v))?)),
    }
}

fn text(max: usize) -> impl Fn(&str, Option<&str>) -> AppResult<Option<String>> {
    move |field, value| optional_text(field, value, max)
}

#[tracing::instrument(skip(db, input))]
pub async fn create<C: Writable>(
    db: &C,
    viewer: Viewer,
    input: CreateClientInput,
) -> AppResult<clients::Model> {
    let company_name = required_text("companyName", &input.company_name, 200)?;
    let email = email("email", input.email.as_deref())?;
    let phone = phone("phone", input.phone.as_deref())?;
    let address = optional_text("address", input.address.as_deref(), 500)?;
    let city = optional_text("city", input.city.as_deref(), 100)?;
    let postal_code = postal_code("postalCode", input.postal_code.as_deref())?;
    let country = optional_text("country", input.country.as_deref(), 100)?;
    // Commercials bring in their own prospects: the client is theirs.
    let assigned_to = if viewer.can(Action::ReassignClients) {
        input.assigned_to_id
    } else {
        match input.assigned_to_id {
            None => Some(viewer.user_id),
            Some(user_id) if user_id == viewer.user_id => Some(user_id),
            Some(_) => {
                return Err(AppError::forbidden(
                    "your role (commercial) creates clients assigned to yourself: leave `assignedToId` out",
                ));
            }
        }
    };
    let txn = begin_write(db).await?;
    if let Some(user_id) = assigned_to {
        must_exist::<users::Entity>(&txn, viewer, user_id, "assignedToId", "user").await?;
    }
    let at = now();
    let client = clients::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_name: Set(company_name),
        email: Set(email),
        phone: Set(phone),
        address: Set(address),
        city: Set(city),
        postal_code: Set(postal_code),
        country: Set(country),
        status: Set(input.status.unwrap_or(ClientStatus::Prospect)),
        kyc_completed: Set(false),
        kyc_completed_at: Set(None),
        assigned_to: Set(assigned_to),
        created_at: Set(at),
        updated_at: Set(at),
        archived_at: Set(None),
    }
    .insert(&txn)
    .await?;
    record_event(
        &txn,
        client.id,
        Some(viewer.user_id),
        format!("Client {} created", client.company_name),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(client_id = %client.id, "client created");
    Ok(client)
}

#[tracing::instrument(skip(db, input))]
pub async fn update<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    input: UpdateClientInput,
) -> AppResult<clients::Model> {
    let company_name = not_null("companyName", input.company_name)?
        .map(|v| required_text("companyName", &v, 200))
        .transpose()?;
    let status = not_null("status", input.status)?;
    let email = optional_update("email", input.email, email)?;
    let phone = optional_update("phone", input.phone, phone)?;
    let address = optional_update("address", input.address, text(500))?;
    let city = optional_update("city", input.city, text(100))?;
    let postal_code = optional_update("postalCode", input.postal_code, postal_code)?;
    let country = optional_update("country", input.country, text(100))?;

    let txn = begin_write(db).await?;
    let current = for_update::<clients::Entity>(&txn, viewer, id, "id", "client").await?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    let old_status = current.status;
    let before = current.clone();
    let mut active: clients::ActiveModel = current.into();
    set_given(&mut active.company_name, company_name);
    set_given(&mut active.status, status);
    set_given(&mut active.email, email);
    set_given(&mut active.phone, phone);
    set_given(&mut active.address, address);
    set_given(&mut active.city, city);
    set_given(&mut active.postal_code, postal_code);
    set_given(&mut active.country, country);
    active.updated_at = Set(now());
    let client = crate::audit::update::<clients::Entity>(&txn, viewer, &before, active).await?;
    if client.status != old_status {
        let content =
            format!("Status changed from {old_status:?} to {:?}", client.status).to_lowercase();
        record_event(&txn, client.id, Some(viewer.user_id), content).await?;
    }
    txn.commit().await?;
    Ok(client)
}

/// Archives (`archive`) or restores a client: it leaves (or rejoins) lists, search and figures,
/// stays reachable by id, and its contracts, payments, notes and documents stay as they are.
/// Written to its history; archiving an archived client (or restoring one that is not) changes
/// nothing. Whoever may change the client may archive it.
pub async fn set_archived<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    archive: bool,
) -> AppResult<clients::Model> {
    crate::archive::set_archived::<clients::Entity, _>(db, viewer, id, archive).await
}

impl crate::archive::Archivable for clients::Entity {
    const WHAT: &'static str = "client";

    fn archived_at(model: &clients::Model) -> Option<chrono::DateTime<chrono::Utc>> {
        model.archived_at
    }

    fn stamp(
        active: &mut clients::ActiveModel,
        archived_at: Option<chrono::DateTime<chrono::Utc>>,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        active.archived_at = Set(archived_at);
        active.updated_at = Set(at);
    }

    fn history(_: &clients::Model, archive: bool) -> String {
        if archive {
            "Client archived"
        } else {
            "Client restored"
        }
        .to_owned()
    }
}

/// A deleted client: its id, and the keys of its documents' files (their rows went with it;
/// the caller removes the files once the deletion is committed).
#[derive(Debug)]
pub struct Deleted {
    pub id: Uuid,
    pub files: Vec<String>,
}

/// Deletes a client with no contracts (its notes and documents go with it). A client with
/// contracts is refused: cancel or complete them and keep the client, or set it `churned`.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Deleted> {
    viewer.require(Action::DeleteForGood)?;
    let txn = begin_write(db).await?;
    let current = for_update::<clients::Entity>(&txn, viewer, id, "id", "client").await?;
    let contracts = contracts::Entity::find()
        .filter(contracts::Column::ClientId.eq(id))
        .count(&txn)
        .await?;
    if contracts > 0 {
        return Err(AppError::rule(
            Some("id"),
            "HAS_DEPENDENTS",
            format!(
                "the client still has {contracts} contract(s): it cannot be deleted (set its status to churned instead)"
            ),
        ));
    }
    let files: Vec<String> = entity::documents::Entity::find()
        .select_only()
        .column(entity::documents::Column::FilePath)
        .filter(entity::documents::Column::ClientId.eq(id))
        .into_tuple()
        .all(&txn)
        .await?;
    current.delete(&txn).await?;
    txn.commit().await?;
    tracing::info!(client_id = %id, "client deleted");
    Ok(Deleted { id, files })
}

/// Marks the client's know-your-customer checks as done.
#[tracing::instrument(skip(db))]
pub async fn complete_kyc(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<clients::Model> {
    let txn = begin_write(db).await?;
    let current = for_update::<clients::Entity>(&txn, viewer, id, "id", "client").await?;
    if current.kyc_completed {
        return Err(AppError::rule(
            Some("id"),
            "ALREADY_DONE",
            "KYC is already completed for this client",
        ));
    }
    let at = now();
    let before = current.clone();
    let mut active: clients::ActiveModel = current.into();
    active.kyc_completed = Set(true);
    active.kyc_completed_at = Set(Some(at));
    active.updated_at = Set(at);
    let client = crate::audit::update::<clients::Entity>(&txn, viewer, &before, active).await?;
    record_event(
        &txn,
        client.id,
        Some(viewer.user_id),
        "KYC completed".to_owned(),
    )
    .await?;
    txn.commit().await?;
    Ok(client)
}

/// Assigns the client to a user, or unassigns it (`user_id = None`).
#[tracing::instrument(skip(db))]
pub async fn assign(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
    user_id: Option<Uuid>,
) -> AppResult<clients::Model> {
    viewer.require(Action::ReassignClients)?;
    let txn = begin_write(db).await?;
    let current = for_update::<clients::Entity>(&txn, viewer, id, "id", "client").await?;
    let content = match user_id {
        Some(user_id) => {
            let user = must_exist::<users::Entity>(&txn, viewer, user_id, "userId", "user").await?;
            format!(
                "Assigned to {} {} ({})",
                user.first_name, user.last_name, user.username
            )
        }
        None => "Unassigned".to_owned(),
    };
    let before = current.clone();
    let mut active: clients::ActiveModel = current.into();
    active.assigned_to = Set(user_id);
    active.updated_at = Set(now());
    let client = crate::audit::update::<clients::Entity>(&txn, viewer, &before, active).await?;
    record_event(&txn, client.id, Some(viewer.user_id), content).await?;
    txn.commit().await?;
    Ok(client)
}

/// Loads a client inside a transaction (for other domains' rules).
pub async fn find(
    txn: &sea_orm::DatabaseTransaction,
    viewer: Viewer,
    id: Uuid,
    field: &str,
) -> AppResult<clients::Model> {
    must_exist::<clients::Entity>(txn, viewer, id, field, "client").await
}
