//! Payment rules and writes: a payment belongs to its contract's client, is only taken on
//! active or completed contracts, and completed payments never exceed the contract amount.
//! Concurrent writers on one contract are serialized (row lock on PostgreSQL, write
//! transaction on SQLite), so two payments that together would overpay cannot both pass.

use async_graphql::MaybeUndefined;
use entity::{ContractStatus, PaymentStatus, contracts, payments};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, ModelTrait, QueryFilter,
};
use uuid::Uuid;

use super::inputs::{CreatePaymentInput, RecordPaymentInput, UpdatePaymentInput};
use crate::auth::{Action, Viewer};
use crate::client_notes::service::record_event;
use crate::contracts::service::paid;
use crate::db::{Writable, begin_write, check_unchanged, for_update, now, set_given};
use crate::engine::access::visible_in;
use crate::error::{AppError, AppResult};
use crate::validate::{money, not_null, optional_text};

/// Locks the contract and checks it takes payments.
async fn payable_contract(
    txn: &DatabaseTransaction,
    viewer: Viewer,
    contract_id: Uuid,
) -> AppResult<contracts::Model> {
    let contract =
        for_update::<contracts::Entity>(txn, viewer, contract_id, "contractId", "contract").await?;
    if matches!(
        contract.status,
        ContractStatus::Draft | ContractStatus::Cancelled
    ) {
        return Err(AppError::rule(
            Some("contractId"),
            "CONTRACT_NOT_PAYABLE",
            format!(
                "payments cannot be recorded on a {:?} contract",
                contract.status
            )
            .to_uppercase(),
        ));
    }
    Ok(contract)
}

/// Refuses completed payments beyond the contract amount (`replacing` = the payment being
/// changed, whose current amount no longer counts).
async fn check_not_overpaid(
    txn: &DatabaseTransaction,
    contract: &contracts::Model,
    amount: Decimal,
    replacing: Option<&payments::Model>,
) -> AppResult<()> {
    let mut already = paid(txn, contract.id).await?;
    if let Some(current) = replacing
        && current.status.is_paid()
    {
        already -= crate::engine::scalars::Decimal::money(current.amount).0;
    }
    let amount_due = crate::engine::scalars::Decimal::money(contract.amount).0;
    if already + amount > amount_due {
        return Err(AppError::rule(
            Some("amount"),
            "OVERPAYMENT",
            format!(
                "completed payments would exceed the contract amount ({amount_due}; already paid {already})"
            ),
        ));
    }
    Ok(())
}

fn allowed_status(field: &str, status: PaymentStatus) -> AppResult<PaymentStatus> {
    if status == PaymentStatus::Refunded {
        return Err(AppError::bad_input(
            field,
            "use refundPayment to refund a payment",
        ));
    }
    Ok(status)
}

#[tracing::instrument(skip(db, input))]
pub async fn create(
    db: &DatabaseConnection,
    viewer: Viewer,
    input: CreatePaymentInput,
) -> AppResult<payments::Model> {
    let amount = money("amount", input.amount.0, true)?;
    let status = allowed_status("status", input.status.unwrap_or(PaymentStatus::Pending))?;
    let method = optional_text("paymentMethod", input.payment_method.as_deref(), 50)?;
    let reference = optional_text("reference", input.reference.as_deref(), 200)?;
    let txn = begin_write(db).await?;
    let contract = payable_contract(&txn, viewer, input.contract_id).await?;
    if let Some(client_id) = input.client_id
        && client_id != contract.client_id
    {
        return Err(AppError::bad_input(
            "clientId",
            "the payment's client must be the contract's client",
        ));
    }
    if status.is_paid() {
        check_not_overpaid(&txn, &contract, amount, None).await?;
    }
    let payment = insert(
        &txn,
        &contract,
        amount,
        input.payment_date.0,
        method,
        reference,
        status,
        None,
    )
    .await?;
    if status.is_paid() {
        record_event(
            &txn,
            contract.client_id,
            Some(viewer.user_id),
            received(&payment, &contract),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(payment)
}

/// The history line of a payment event (`received`, `refunded`).
fn payment_event(payment: &payments::Model, contract: &contracts::Model, what: &str) -> String {
    format!(
        "Payment of {} {} {what} on contract {}",
        crate::engine::scalars::Decimal::money(payment.amount).0,
        contract.currency,
        contract.contract_number
    )
}

fn received(payment: &payments::Model, contract: &contracts::Model) -> String {
    payment_event(payment, contract, "received")
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    txn: &DatabaseTransaction,
    contract: &contracts::Model,
    amount: Decimal,
    date: chrono::NaiveDate,
    method: Option<String>,
    reference: Option<String>,
    status: PaymentStatus,
    idempotency_key: Option<String>,
) -> AppResult<payments::Model> {
    let at = now();
    Ok(payments::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_id: Set(contract.id),
        client_id: Set(contract.client_id),
        amount: Set(amount),
        payment_date: Set(date),
        payment_method: Set(method),
        status: Set(status),
        reference: Set(reference),
        idempotency_key: Set(idempotency_key),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(txn)
    .await?)
}

/// Records a received payment (completed) with its history entry. With an idempotency key,
/// a retry (the same values) returns the payment recorded the first time; the same key with
/// other values is refused (`IDEMPOTENCY_KEY_REUSED`), as is a key already used on a payment
/// the viewer does not see.
#[tracing::instrument(skip(db, input))]
pub async fn record<C: Writable>(
    db: &C,
    viewer: Viewer,
    input: RecordPaymentInput,
) -> AppResult<payments::Model> {
    let amount = money("amount", input.amount.0, true)?;
    let method = optional_text("paymentMethod", input.payment_method.as_deref(), 50)?;
    let reference = optional_text("reference", input.reference.as_deref(), 200)?;
    let key = optional_text("idempotencyKey", input.idempotency_key.as_deref(), 200)?;
    let asked = Asked {
        contract_id: input.contract_id,
        amount,
        date: input.payment_date.map(|d| d.0),
        method,
        reference,
    };

    if let Some(existing) = find_by_key(db, viewer, key.as_deref()).await? {
        return asked.replay(existing);
    }
    let result = async {
        let txn = begin_write(db).await?;
        let contract = payable_contract(&txn, viewer, asked.contract_id).await?;
        check_not_overpaid(&txn, &contract, amount, None).await?;
        let payment = insert(
            &txn,
            &contract,
            amount,
            asked.date.unwrap_or_else(|| now().date_naive()),
            asked.method.clone(),
            asked.reference.clone(),
            PaymentStatus::Completed,
            key.clone(),
        )
        .await?;
        record_event(
            &txn,
            contract.client_id,
            Some(viewer.user_id),
            received(&payment, &contract),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(payment_id = %payment.id, contract_id = %contract.id, "payment recorded");
        Ok::<_, AppError>(payment)
    }
    .await;
    match result {
        // The same key raced us and won: a retry gets its payment. A key already used outside
        // the viewer's portfolio is refused without showing that payment.
        Err(AppError::Conflict {
            field: Some(field), ..
        }) if field == "idempotencyKey" => match find_by_key(db, viewer, key.as_deref()).await? {
            Some(existing) => asked.replay(existing),
            None => Err(key_reused()),
        },
        other => other,
    }
}

/// What a `recordPayment` asks for, to tell a retry from another payment under a used key.
struct Asked {
    contract_id: Uuid,
    amount: Decimal,
    /// `None`: today, whichever day the retry is sent.
    date: Option<chrono::NaiveDate>,
    method: Option<String>,
    reference: Option<String>,
}

impl Asked {
    /// The payment recorded under the key, when this request asks for that payment again
    /// (compared with the payment as stored); `IDEMPOTENCY_KEY_REUSED` otherwise.
    fn replay(&self, existing: payments::Model) -> AppResult<payments::Model> {
        let same = existing.contract_id == self.contract_id
            && crate::engine::scalars::Decimal::money(existing.amount).0 == self.amount
            && self.date.is_none_or(|date| date == existing.payment_date)
            && existing.payment_method == self.method
            && existing.reference == self.reference;
        if same {
            Ok(existing)
        } else {
            Err(key_reused())
        }
    }
}

fn key_reused() -> AppError {
    AppError::rule(
        Some("idempotencyKey"),
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was already used for a payment with other values: \
         use a new key for a new payment, or resend the first payment's values to retry it",
    )
}

/// The payment recorded with `key`, if the viewer may see it (a key used on another
/// portfolio then fails on the unique constraint instead of revealing that payment).
async fn find_by_key<C: ConnectionTrait>(
    db: &C,
    viewer: Viewer,
    key: Option<&str>,
) -> AppResult<Option<payments::Model>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let mut select = payments::Entity::find().filter(payments::Column::IdempotencyKey.eq(key));
    if let Some(visible) = visible_in::<payments::Entity>(db.get_database_backend(), viewer) {
        select = select.filter(visible);
    }
    Ok(select.one(db).await?)
}

#[tracing::instrument(skip(db, input))]
pub async fn update(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
    input: UpdatePaymentInput,
) -> AppResult<payments::Model> {
    viewer.require(Action::CorrectPayments)?;
    let amount = not_null("amount", input.amount)?
        .map(|v| money("amount", v.0, true))
        .transpose()?;
    let date = not_null("paymentDate", input.payment_date)?;
    let status = not_null("status", input.status)?
        .map(|s| allowed_status("status", s))
        .transpose()?;
    let method = match input.payment_method {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(optional_text("paymentMethod", Some(&v), 50)?),
    };
    let reference = match input.reference {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(optional_text("reference", Some(&v), 200)?),
    };
    let txn = begin_write(db).await?;
    let current = for_update::<payments::Entity>(&txn, viewer, id, "id", "payment").await?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    if current.status == PaymentStatus::Refunded {
        return Err(AppError::rule(
            Some("id"),
            "REFUNDED",
            "a refunded payment cannot be changed",
        ));
    }
    let new_status = status.unwrap_or(current.status);
    let new_amount = amount.unwrap_or(crate::engine::scalars::Decimal::money(current.amount).0);
    // Completing a payment locks its contract (and checks it); the history entry reuses it.
    let contract = match new_status {
        PaymentStatus::PAID => {
            let contract = payable_contract(&txn, viewer, current.contract_id).await?;
            check_not_overpaid(&txn, &contract, new_amount, Some(&current)).await?;
            Some(contract)
        }
        _ => None,
    };
    let was_completed = current.status.is_paid();
    let before = current.clone();
    let mut active: payments::ActiveModel = current.into();
    set_given(&mut active.amount, amount);
    if let Some(v) = date {
        active.payment_date = Set(v.0);
    }
    set_given(&mut active.payment_method, method);
    set_given(&mut active.reference, reference);
    active.status = Set(new_status);
    active.updated_at = Set(now());
    let payment = crate::audit::update::<payments::Entity>(&txn, viewer, &before, active).await?;
    if let Some(contract) = &contract
        && !was_completed
    {
        record_event(
            &txn,
            payment.client_id,
            Some(viewer.user_id),
            received(&payment, contract),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(payment)
}

/// completed → refunded, with its history entry.
#[tracing::instrument(skip(db))]
pub async fn refund(
    db: &DatabaseConnection,
    viewer: Viewer,
    id: Uuid,
) -> AppResult<payments::Model> {
    viewer.require(Action::CorrectPayments)?;
    let txn = begin_write(db).await?;
    let current = for_update::<payments::Entity>(&txn, viewer, id, "id", "payment").await?;
    if current.status != PaymentStatus::Completed {
        return Err(AppError::rule(
            Some("id"),
            "NOT_REFUNDABLE",
            "only a completed payment can be refunded",
        ));
    }
    let contract = for_update::<contracts::Entity>(
        &txn,
        viewer,
        current.contract_id,
        "contractId",
        "contract",
    )
    .await?;
    let before = current.clone();
    let mut active: payments::ActiveModel = current.into();
    active.status = Set(PaymentStatus::Refunded);
    active.updated_at = Set(now());
    let payment = crate::audit::update::<payments::Entity>(&txn, viewer, &before, active).await?;
    let content = payment_event(&payment, &contract, "refunded");
    record_event(&txn, payment.client_id, Some(viewer.user_id), content).await?;
    txn.commit().await?;
    Ok(payment)
}

/// Deletes a pending or failed payment; money that moved (completed, refunded) stays on record.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &DatabaseConnection, viewer: Viewer, id: Uuid) -> AppResult<Uuid> {
    viewer.require(Action::CorrectPayments)?;
    let txn = begin_write(db).await?;
    let current = for_update::<payments::Entity>(&txn, viewer, id, "id", "payment").await?;
    if matches!(
        current.status,
        PaymentStatus::Completed | PaymentStatus::Refunded
    ) {
        return Err(AppError::rule(
            Some("id"),
            "HAS_MOVED_MONEY",
            "completed and refunded payments stay on record: refund the payment instead",
        ));
    }
    current.delete(&txn).await?;
    txn.commit().await?;
    Ok(id)
}
