//! Contract rules and writes: the life cycle draft → active (signed, KYC required) →
//! completed, or cancelled from draft or active. Each event is written to the client's history
//! in the same transaction.

use async_graphql::MaybeUndefined;
use chrono::NaiveDate;
use entity::{ContractStatus, PaymentStatus, contracts, payments, users};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use super::inputs::{CreateContractInput, UpdateContractInput};
use crate::auth::{Action, Viewer};
use crate::client_notes::service::record_event;
use crate::db::{Writable, begin_write, check_unchanged, for_update, must_exist, now, set_given};
use crate::engine::scalars::DateTime;
use crate::error::{AppError, AppResult};
use crate::validate::{currency, money, not_null, required_text};

fn check_dates(start: Option<NaiveDate>, end: Option<NaiveDate>) -> AppResult<()> {
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(AppError::bad_input(
            "endDate",
            "`endDate` must not be before `startDate`",
        ));
    }
    Ok(())
}

async fn number_is_free(
    txn: &DatabaseTransaction,
    number: &str,
    except: Option<Uuid>,
) -> AppResult<()> {
    let mut query = contracts::Entity::find().filter(contracts::Column::ContractNumber.eq(number));
    if let Some(id) = except {
        query = query.filter(contracts::Column::Id.ne(id));
    }
    if query.count(txn).await? > 0 {
        return Err(AppError::rule(
            Some("contractNumber"),
            "DUPLICATE",
            "another contract already has this number",
        ));
    }
    Ok(())
}

/// Sum of the completed payments of a contract.
pub async fn paid(txn: &DatabaseTransaction, contract_id: Uuid) -> AppResult<Decimal> {
    let rows = payments::Entity::find()
        .filter(payments::Column::ContractId.eq(contract_id))
        .filter(payments::Column::Status.eq(PaymentStatus::PAID))
        .all(txn)
        .await?;
    // Summed in Rust: exact on SQLite too, where amounts are stored as REAL.
    Ok(rows
        .iter()
        .map(|p| crate::engine::scalars::Decimal::money(p.amount).0)
        .sum())
}

#[tracing::instrument(skip(db, input))]
pub async fn create<C: Writable>(
    db: &C,
    viewer: Viewer,
    input: CreateContractInput,
) -> AppResult<contracts::Model> {
    viewer.require(Action::ManageContracts)?;
    let number = required_text("contractNumber", &input.contract_number, 50)?;
    let title = required_text("title", &input.title, 200)?;
    let amount = money("amount", input.amount.0, false)?;
    let currency = currency("currency", input.currency.as_deref().unwrap_or("EUR"))?;
    let start = input.start_date.map(|d| d.0);
    let end = input.end_date.map(|d| d.0);
    check_dates(start, end)?;

    let txn = begin_write(db).await?;
    let client = crate::clients::service::find(&txn, viewer, input.client_id, "clientId").await?;
    if let Some(user_id) = input.commercial_id {
        must_exist::<users::Entity>(&txn, viewer, user_id, "commercialId", "user").await?;
    }
    number_is_free(&txn, &number, None).await?;
    let at = now();
    let contract = contracts::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_number: Set(number),
        client_id: Set(client.id),
        commercial_id: Set(input.commercial_id),
        title: Set(title),
        amount: Set(amount),
        currency: Set(currency),
        status: Set(ContractStatus::Draft),
        start_date: Set(start),
        end_date: Set(end),
        signed_at: Set(None),
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
        format!(
            "Contract {} drafted ({} {})",
            contract.contract_number, contract.amount, contract.currency
        ),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(contract_id = %contract.id, "contract created");
    Ok(contract)
}

/// Archives (`archive`) or restores a contract: it leaves (or rejoins) lists, search and
/// figures, stays reachable by id, its payments and documents as they are. Written to its
/// client's history; managers and admins only, as other contract changes.
pub async fn set_archived<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    archive: bool,
) -> AppResult<contracts::Model> {
    viewer.require(Action::ManageContracts)?;
    crate::archive::set_archived::<contracts::Entity, _>(db, viewer, id, archive).await
}

impl crate::archive::Archivable for contracts::Entity {
    const WHAT: &'static str = "contract";

    fn archived_at(model: &contracts::Model) -> Option<chrono::DateTime<chrono::Utc>> {
        model.archived_at
    }

    fn stamp(
        active: &mut contracts::ActiveModel,
        archived_at: Option<chrono::DateTime<chrono::Utc>>,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        active.archived_at = Set(archived_at);
        active.updated_at = Set(at);
    }

    fn history(contract: &contracts::Model, archive: bool) -> String {
        format!(
            "Contract {} {}",
            contract.contract_number,
            if archive { "archived" } else { "restored" }
        )
    }
}

#[tracing::instrument(skip(db, input))]
pub async fn update<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    input: UpdateContractInput,
) -> AppResult<contracts::Model> {
    viewer.require(Action::ManageContracts)?;
    let number = not_null("contractNumber", input.contract_number)?
        .map(|v| required_text("contractNumber", &v, 50))
        .transpose()?;
    let title = not_null("title", input.title)?
        .map(|v| required_text("title", &v, 200))
        .transpose()?;
    let amount = not_null("amount", input.amount)?
        .map(|v| money("amount", v.0, false))
        .transpose()?;
    let currency = not_null("currency", input.currency)?
        .map(|v| currency("currency", &v))
        .transpose()?;

    let txn = begin_write(db).await?;
    let current = for_update::<contracts::Entity>(&txn, viewer, id, "id", "contract").await?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    let start = match input.start_date {
        MaybeUndefined::Undefined => current.start_date,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(d) => Some(d.0),
    };
    let end = match input.end_date {
        MaybeUndefined::Undefined => current.end_date,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(d) => Some(d.0),
    };
    check_dates(start, end)?;
    if let Some(number) = &number {
        number_is_free(&txn, number, Some(id)).await?;
    }
    if let Some(amount) = amount {
        let paid = paid(&txn, id).await?;
        if amount < paid {
            return Err(AppError::rule(
                Some("amount"),
                "BELOW_PAID",
                format!("the amount cannot be lower than what was already paid ({paid})"),
            ));
        }
    }
    let commercial = match input.commercial_id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(user_id) => {
            must_exist::<users::Entity>(&txn, viewer, user_id, "commercialId", "user").await?;
            Some(Some(user_id))
        }
    };
    let before = current.clone();
    let mut active: contracts::ActiveModel = current.into();
    set_given(&mut active.contract_number, number);
    set_given(&mut active.title, title);
    set_given(&mut active.amount, amount);
    set_given(&mut active.currency, currency);
    set_given(&mut active.commercial_id, commercial);
    active.start_date = Set(start);
    active.end_date = Set(end);
    active.updated_at = Set(now());
    let contract = crate::audit::update::<contracts::Entity>(&txn, viewer, &before, active).await?;
    txn.commit().await?;
    Ok(contract)
}

/// Deletes a contract with no payments, for good (admins; the others archive it).
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Uuid> {
    viewer.require(Action::DeleteForGood)?;
    let txn = begin_write(db).await?;
    let current = for_update::<contracts::Entity>(&txn, viewer, id, "id", "contract").await?;
    let count = payments::Entity::find()
        .filter(payments::Column::ContractId.eq(id))
        .count(&txn)
        .await?;
    if count > 0 {
        return Err(AppError::rule(
            Some("id"),
            "HAS_DEPENDENTS",
            format!("the contract has {count} payment(s): cancel it instead of deleting it"),
        ));
    }
    let (client_id, number) = (current.client_id, current.contract_number.clone());
    current.delete(&txn).await?;
    record_event(
        &txn,
        client_id,
        Some(viewer.user_id),
        format!("Contract {number} deleted"),
    )
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// A status change with its rule and history entry.
async fn transition<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    from: &[ContractStatus],
    to: ContractStatus,
    signed_at: Option<DateTime>,
    note: Option<String>,
) -> AppResult<contracts::Model> {
    viewer.require(Action::ManageContracts)?;
    let txn = begin_write(db).await?;
    let current = for_update::<contracts::Entity>(&txn, viewer, id, "id", "contract").await?;
    if !from.contains(&current.status) {
        return Err(AppError::rule(
            Some("id"),
            "INVALID_TRANSITION",
            format!("a {:?} contract cannot become {to:?}", current.status).to_uppercase(),
        ));
    }
    if to == ContractStatus::Active {
        let client =
            crate::clients::service::find(&txn, viewer, current.client_id, "clientId").await?;
        if !client.kyc_completed {
            return Err(AppError::rule(
                Some("id"),
                "KYC_INCOMPLETE",
                "the client's KYC is not complete: complete it before signing the contract",
            ));
        }
    }
    let at = now();
    let before = current.clone();
    let mut active: contracts::ActiveModel = current.into();
    active.status = Set(to);
    if to == ContractStatus::Active {
        active.signed_at = Set(Some(signed_at.map(|t| t.0).unwrap_or(at)));
    }
    active.updated_at = Set(at);
    let contract = crate::audit::update::<contracts::Entity>(&txn, viewer, &before, active).await?;
    let verb = match to {
        ContractStatus::Active => "signed",
        ContractStatus::Completed => "completed",
        ContractStatus::Cancelled => "cancelled",
        ContractStatus::Draft => "reopened",
    };
    let mut content = format!("Contract {} {verb}", contract.contract_number);
    if let Some(note) = note {
        content.push_str(": ");
        content.push_str(&note);
    }
    record_event(&txn, contract.client_id, Some(viewer.user_id), content).await?;
    txn.commit().await?;
    tracing::info!(contract_id = %contract.id, status = ?to, "contract status changed");
    Ok(contract)
}

/// `draft` → `active`, once the client's KYC is complete.
pub async fn sign<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    signed_at: Option<DateTime>,
) -> AppResult<contracts::Model> {
    transition(
        db,
        viewer,
        id,
        &[ContractStatus::Draft],
        ContractStatus::Active,
        signed_at,
        None,
    )
    .await
}

/// `active` → `completed`.
pub async fn complete<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<contracts::Model> {
    transition(
        db,
        viewer,
        id,
        &[ContractStatus::Active],
        ContractStatus::Completed,
        None,
        None,
    )
    .await
}

/// `draft` or `active` → `cancelled`, with an optional reason kept in the history.
pub async fn cancel<C: Writable>(
    db: &C,
    viewer: Viewer,
    id: Uuid,
    reason: Option<String>,
) -> AppResult<contracts::Model> {
    let reason = crate::validate::optional_text("reason", reason.as_deref(), 1000)?;
    transition(
        db,
        viewer,
        id,
        &[ContractStatus::Draft, ContractStatus::Active],
        ContractStatus::Cancelled,
        None,
        reason,
    )
    .await
}
