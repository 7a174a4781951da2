//! Builders for rows, inserted straight through SeaORM (not through the API under test).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::{
    ClientStatus, ContractStatus, PaymentStatus, Role, client_notes, clients, contracts, documents,
    oauth_email_accounts, payments, users,
};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use uuid::Uuid;

pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 30, 0).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub async fn user(db: &DatabaseConnection, name: &str, role: Role) -> users::Model {
    users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(format!("{name}@crm.example")),
        username: Set(name.to_owned()),
        first_name: Set(name.to_owned()),
        last_name: Set("Tester".to_owned()),
        role: Set(role),
        password_hash: Set("not-a-real-hash".to_owned()),
        is_active: Set(true),
        last_login_at: Set(None),
        created_at: Set(at(2026, 1, 2)),
        updated_at: Set(at(2026, 1, 2)),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn client(
    db: &DatabaseConnection,
    company_name: &str,
    assigned_to: Option<Uuid>,
) -> clients::Model {
    clients::ActiveModel {
        id: Set(Uuid::now_v7()),
        company_name: Set(company_name.to_owned()),
        email: Set(Some("contact@acme.example".to_owned())),
        phone: Set(Some("+33 1 23 45 67 89".to_owned())),
        address: Set(Some("1 rue de la Paix".to_owned())),
        city: Set(Some("Paris".to_owned())),
        postal_code: Set(Some("75002".to_owned())),
        country: Set(Some("France".to_owned())),
        status: Set(ClientStatus::Active),
        kyc_completed: Set(true),
        kyc_completed_at: Set(Some(at(2026, 2, 3))),
        assigned_to: Set(assigned_to),
        created_at: Set(at(2026, 1, 5)),
        updated_at: Set(at(2026, 1, 5)),
        archived_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn contract(
    db: &DatabaseConnection,
    client_id: Uuid,
    number: &str,
    amount: &str,
    status: ContractStatus,
) -> contracts::Model {
    contracts::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_number: Set(number.to_owned()),
        client_id: Set(client_id),
        commercial_id: Set(None),
        title: Set(format!("Contract {number}")),
        amount: Set(dec(amount)),
        currency: Set("EUR".to_owned()),
        status: Set(status),
        start_date: Set(Some(date(2026, 3, 1))),
        end_date: Set(Some(date(2027, 2, 28))),
        signed_at: Set(Some(at(2026, 2, 20))),
        created_at: Set(at(2026, 2, 1)),
        updated_at: Set(at(2026, 2, 1)),
        archived_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn payment(
    db: &DatabaseConnection,
    contract: &contracts::Model,
    amount: &str,
    status: PaymentStatus,
) -> payments::Model {
    payments::ActiveModel {
        id: Set(Uuid::now_v7()),
        contract_id: Set(contract.id),
        client_id: Set(contract.client_id),
        amount: Set(dec(amount)),
        payment_date: Set(date(2026, 4, 15)),
        payment_method: Set(Some("transfer".to_owned())),
        status: Set(status),
        reference: Set(Some("VIR-0001".to_owned())),
        idempotency_key: Set(None),
        created_at: Set(at(2026, 4, 15)),
        updated_at: Set(at(2026, 4, 15)),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn document(
    db: &DatabaseConnection,
    client_id: Uuid,
    contract_id: Option<Uuid>,
    uploaded_by: Option<Uuid>,
) -> documents::Model {
    documents::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        contract_id: Set(contract_id),
        uploaded_by: Set(uploaded_by),
        file_name: Set("kbis.pdf".to_owned()),
        file_path: Set("clients/kbis.pdf".to_owned()),
        mime_type: Set(Some("application/pdf".to_owned())),
        file_size: Set(Some(123_456)),
        document_type: Set(Some("identity".to_owned())),
        sha256: Set(None),
        created_at: Set(at(2026, 2, 2)),
        updated_at: Set(at(2026, 2, 2)),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn note(
    db: &DatabaseConnection,
    client_id: Uuid,
    user_id: Option<Uuid>,
    content: &str,
) -> client_notes::Model {
    client_notes::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client_id),
        user_id: Set(user_id),
        note_type: Set("call".to_owned()),
        content: Set(content.to_owned()),
        created_at: Set(at(2026, 2, 4)),
        updated_at: Set(at(2026, 2, 4)),
    }
    .insert(db)
    .await
    .unwrap()
}

pub async fn email_account(db: &DatabaseConnection, user_id: Uuid) -> oauth_email_accounts::Model {
    oauth_email_accounts::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        provider: Set("google".to_owned()),
        email: Set("rep@gmail.example".to_owned()),
        access_token: Set(Some("secret-access".to_owned())),
        refresh_token: Set(None),
        token_expires_at: Set(Some(at(2026, 12, 1))),
        needs_reconnect: Set(false),
        refresh_error: Set(None),
        refreshed_at: Set(None),
        refresh_lease_until: Set(None),
        created_at: Set(at(2026, 1, 10)),
        updated_at: Set(at(2026, 1, 10)),
    }
    .insert(db)
    .await
    .unwrap()
}
