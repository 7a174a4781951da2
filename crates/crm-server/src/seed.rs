//! `crm-server seed`: deterministic demo data, on either backend.
//!
//! Every value is derived from a hash of (seed, kind, index), so the same flags always give the
//! same rows, whatever the backend. The default sizes are the benchmark harness's: 50 users,
//! 10,000 clients, ~30,000 contracts, ~115,000 payments, 20,000 notes, 10,000 documents and 40
//! mailboxes. The data follows the API's rules: payments only on signed contracts, completed
//! payments never above the contract amount, contracts signed only for KYC-complete clients.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use clap::Args;
use entity::{
    ClientStatus, ContractStatus, PaymentStatus, Role, client_notes, clients, contracts, documents,
    oauth_email_accounts, payments, users,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// Sizes of the demo data set.
#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// Users (2 admins, 8 managers, the rest commercials).
    #[arg(long, default_value_t = 50)]
    pub users: u64,
    /// Clients.
    #[arg(long, default_value_t = 10_000)]
    pub clients: u64,
    /// Average contracts per client (0 to twice this).
    #[arg(long, default_value_t = 3)]
    pub contracts_per_client: u64,
    /// Average payments per signed contract (0 to twice this); about 4 per contract overall.
    #[arg(long, default_value_t = 5)]
    pub payments_per_contract: u64,
    /// Client notes.
    #[arg(long, default_value_t = 20_000)]
    pub notes: u64,
    /// Documents.
    #[arg(long, default_value_t = 10_000)]
    pub documents: u64,
    /// Connected mailboxes.
    #[arg(long, default_value_t = 40)]
    pub email_accounts: u64,
    /// Changes every generated value.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Password every demo user signs in with (to try the roles). Default: none can sign in.
    #[arg(long, env = "CRM_SEED_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// A deterministic value for (seed, kind, index): splitmix64 of the three.
fn h(seed: u64, kind: u64, i: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(kind.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(i.wrapping_mul(0x94D0_49BB_1331_11EB))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Gen {
    seed: u64,
}

impl Gen {
    fn n(&self, kind: u64, i: u64, below: u64) -> u64 {
        h(self.seed, kind, i) % below.max(1)
    }
    fn pick<'a>(&self, kind: u64, i: u64, items: &[&'a str]) -> &'a str {
        items[self.n(kind, i, items.len() as u64) as usize]
    }
    fn id(&self, kind: u64, i: u64) -> Uuid {
        let bits =
            (u128::from(h(self.seed, kind, i)) << 64) | u128::from(h(self.seed, kind + 1000, i));
        uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
    }
    fn at(&self, kind: u64, i: u64) -> DateTime<Utc> {
        let base = Utc
            .with_ymd_and_hms(2023, 1, 2, 9, 0, 0)
            .single()
            .unwrap_or_default();
        base + Duration::seconds(self.n(kind, i, 3 * 365 * 86_400) as i64)
    }
}

/// The PostgreSQL triggers that keep stored totals (migrations `contract_totals` and
/// `client_totals`), by table: off during the bulk load, which sums the totals once.
const TOTALS_TRIGGERS: [(&str, &str); 2] = [
    ("payments", "payments_contract_totals"),
    ("contracts", "contracts_client_totals"),
];

const FIRST: [&str; 16] = [
    "Alice", "Bruno", "Chloé", "David", "Emma", "Fabien", "Gaëlle", "Hugo", "Inès", "Julien",
    "Karim", "Laura", "Mathieu", "Nora", "Olivier", "Pauline",
];
const LAST: [&str; 12] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent",
];
const PREFIX: [&str; 12] = [
    "Acme", "Nova", "Blue", "Green", "Pacific", "Alpine", "Atlas", "Vertex", "Nordic", "Solar",
    "Urban", "Delta",
];
const TRADE: [&str; 10] = [
    "Tech",
    "Logistics",
    "Foods",
    "Consulting",
    "Energy",
    "Agritech",
    "Media",
    "Health",
    "Retail",
    "Systems",
];
const FORM: [&str; 6] = ["SA", "SAS", "SARL", "GmbH", "Ltd", "& Co"];
const CITIES: [&str; 8] = [
    "Paris",
    "Lyon",
    "Marseille",
    "Bordeaux",
    "Nantes",
    "Lille",
    "Berlin",
    "Bruxelles",
];

/// Inserts the demo data into an empty database, in one transaction.
pub async fn seed(db: &DatabaseConnection, args: &SeedArgs) -> AppResult<()> {
    // Admins made beforehand (the development admin, `create-admin`) may stay.
    if clients::Entity::find().count(db).await? > 0 {
        return Err(AppError::bad_input(
            "database",
            "the database already has clients: seed a database without CRM data",
        ));
    }
    // One hash for every demo user: they share the demo password anyway.
    let password_hash = match &args.password {
        Some(password) => {
            crate::auth::password::check_strength("password", password)?;
            crate::auth::password::hash(password.clone()).await?
        }
        None => "!demo".to_owned(),
    };
    let started = Instant::now();
    let g = Gen { seed: args.seed };
    let txn = db.begin().await?;

    let mut user_ids = Vec::new();
    let mut rows = Vec::new();
    for i in 0..args.users {
        let (first, last) = (g.pick(1, i, &FIRST), g.pick(2, i, &LAST));
        let handle = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i + 1);
        let id = g.id(10, i);
        user_ids.push((id, i));
        let at = g.at(3, i);
        rows.push(users::ActiveModel {
            id: Set(id),
            email: Set(format!("{handle}@crm.example")),
            username: Set(handle),
            first_name: Set(first.to_owned()),
            last_name: Set(last.to_owned()),
            role: Set(match i {
                0..=1 => Role::Admin,
                2..=9 => Role::Manager,
                _ => Role::Commercial,
            }),
            // Without --password no password matches this marker: nobody signs in.
            password_hash: Set(password_hash.clone()),
            is_active: Set(i % 17 != 16),
            last_login_at: Set(Some(at + Duration::days(30))),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    insert_chunks(&txn, rows).await?;
    let reps: Vec<Uuid> = user_ids
        .iter()
        .filter(|(_, i)| *i >= 10)
        .map(|(id, _)| *id)
        .collect();
    let reps = if reps.is_empty() {
        user_ids.iter().map(|(id, _)| *id).collect()
    } else {
        reps
    };

    let mut client_rows = Vec::new();
    let mut contract_rows = Vec::new();
    let mut payment_rows = Vec::new();
    let mut contract_no = 0u64;
    let mut payment_no = 0u64;
    for i in 0..args.clients {
        let id = g.id(20, i);
        let name = format!(
            "{} {} {}",
            g.pick(21, i, &PREFIX),
            g.pick(22, i, &TRADE),
            g.pick(23, i, &FORM)
        );
        let status = [
            ClientStatus::Prospect,
            ClientStatus::Active,
            ClientStatus::Active,
            ClientStatus::Inactive,
            ClientStatus::Churned,
        ][g.n(24, i, 5) as usize];
        let kyc = g.n(25, i, 20) != 0;
        let at = g.at(26, i);
        let city = g.pick(27, i, &CITIES);
        client_rows.push(clients::ActiveModel {
            id: Set(id),
            company_name: Set(name.clone()),
            email: Set(Some(format!(
                "contact{}@{}.example",
                i + 1,
                name.to_lowercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "")
            ))),
            phone: Set(Some(format!(
                "+33 1 {:02} {:02} {:02} {:02}",
                g.n(28, i, 100),
                g.n(29, i, 100),
                g.n(30, i, 100),
                g.n(31, i, 100)
            ))),
            address: Set(Some(format!(
                "{} rue de la République",
                1 + g.n(32, i, 200)
            ))),
            city: Set(Some(city.to_owned())),
            postal_code: Set(Some(format!("{:05}", 1000 + g.n(33, i, 94_000)))),
            country: Set(Some(
                if matches!(city, "Berlin") {
                    "Germany"
                } else if city == "Bruxelles" {
                    "Belgium"
                } else {
                    "France"
                }
                .to_owned(),
            )),
            status: Set(status),
            kyc_completed: Set(kyc),
            kyc_completed_at: Set(kyc.then(|| at + Duration::days(7))),
            assigned_to: Set(
                (g.n(34, i, 20) != 0).then(|| reps[g.n(35, i, reps.len() as u64) as usize])
            ),
            created_at: Set(at),
            updated_at: Set(at),
            archived_at: Set(None),
        });
        for _ in 0..g.n(40, i, 2 * args.contracts_per_client + 1) {
            let k = contract_no;
            contract_no += 1;
            let contract_id = g.id(50, k);
            let amount = Decimal::new((100_000 + g.n(51, k, 5_000_000)) as i64, 2);
            let status = if kyc {
                match g.n(52, k, 20) {
                    0..=8 => ContractStatus::Active,
                    9..=15 => ContractStatus::Completed,
                    16..=17 => ContractStatus::Draft,
                    _ => ContractStatus::Cancelled,
                }
            } else {
                ContractStatus::Draft
            };
            let created = at + Duration::days(g.n(53, k, 300) as i64);
            let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
                + Duration::days(g.n(54, k, 700) as i64);
            contract_rows.push(contracts::ActiveModel {
                id: Set(contract_id),
                contract_number: Set(format!("CTR-{:06}", k + 1)),
                client_id: Set(id),
                commercial_id: Set(Some(reps[g.n(55, k, reps.len() as u64) as usize])),
                title: Set(format!("{} services", g.pick(56, k, &TRADE))),
                amount: Set(amount),
                currency: Set("EUR".to_owned()),
                status: Set(status),
                start_date: Set(Some(start)),
                end_date: Set(Some(start + Duration::days(365))),
                signed_at: Set((status != ContractStatus::Draft
                    && status != ContractStatus::Cancelled)
                    .then_some(created + Duration::days(3))),
                created_at: Set(created),
                updated_at: Set(created),
                archived_at: Set(None),
            });
            if status.is_owed() {
                let count = g.n(57, k, 2 * args.payments_per_contract + 1);
                // Installments of amount / (count + 1): completed ones never exceed the amount.
                let share = (amount / Decimal::from(count + 1)).round_dp(2);
                for j in 0..count {
                    let p = payment_no;
                    payment_no += 1;
                    let status = [
                        PaymentStatus::Completed,
                        PaymentStatus::Completed,
                        PaymentStatus::Completed,
                        PaymentStatus::Pending,
                        PaymentStatus::Failed,
                    ][g.n(60, p, 5) as usize];
                    payment_rows.push(payments::ActiveModel {
                        id: Set(g.id(61, p)),
                        contract_id: Set(contract_id),
                        client_id: Set(id),
                        amount: Set(share.max(Decimal::new(1, 2))),
                        payment_date: Set(start + Duration::days(30 * j as i64)),
                        payment_method: Set(Some(
                            ["transfer", "card", "direct_debit"][g.n(62, p, 3) as usize].to_owned(),
                        )),
                        status: Set(status),
                        reference: Set(Some(format!("PAY-{:07}", p + 1))),
                        idempotency_key: Set(None),
                        created_at: Set(created + Duration::days(30 * j as i64 + 1)),
                        updated_at: Set(created + Duration::days(30 * j as i64 + 1)),
                    });
                }
            }
        }
    }
    let client_ids: Vec<Uuid> = (0..args.clients).map(|i| g.id(20, i)).collect();
    // PostgreSQL: the stored totals summed once for all rows, rather than by the triggers
    // once per contract and payment (each of those rewrites a contract's or client's row and
    // indexes).
    let postgres = txn.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        for (table, trigger) in TOTALS_TRIGGERS {
            txn.execute_unprepared(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
                .await?;
        }
    }
    insert_chunks(&txn, client_rows).await?;
    insert_chunks(&txn, contract_rows).await?;
    insert_chunks(&txn, payment_rows).await?;
    if postgres {
        // Statistics first: without them the planner takes the new rows for empty tables and
        // scans them once per contract and client.
        txn.execute_unprepared("ANALYZE clients, contracts, payments")
            .await?;
        crate::totals::recompute_all(&txn).await?;
        for (table, trigger) in TOTALS_TRIGGERS {
            txn.execute_unprepared(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
                .await?;
        }
    }

    if !client_ids.is_empty() {
        let mut notes = Vec::new();
        for i in 0..args.notes {
            let at = g.at(70, i);
            notes.push(client_notes::ActiveModel {
                id: Set(g.id(71, i)),
                client_id: Set(client_ids[g.n(72, i, client_ids.len() as u64) as usize]),
                user_id: Set(Some(reps[g.n(73, i, reps.len() as u64) as usize])),
                note_type: Set(
                    ["note", "call", "email", "meeting"][g.n(74, i, 4) as usize].to_owned()
                ),
                content: Set([
                    "Called about the renewal.",
                    "Sent the updated quote.",
                    "Meeting planned next week.",
                    "Asked for the KYC documents.",
                ][g.n(75, i, 4) as usize]
                    .to_owned()),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
        insert_chunks(&txn, notes).await?;
        let mut docs = Vec::new();
        for i in 0..args.documents {
            let at = g.at(80, i);
            let kind = ["contract", "invoice", "identity", "kbis"][g.n(81, i, 4) as usize];
            docs.push(documents::ActiveModel {
                id: Set(g.id(82, i)),
                client_id: Set(client_ids[g.n(83, i, client_ids.len() as u64) as usize]),
                contract_id: Set(None),
                uploaded_by: Set(Some(reps[g.n(84, i, reps.len() as u64) as usize])),
                file_name: Set(format!("{kind}-{}.pdf", i + 1)),
                file_path: Set(format!("documents/{kind}-{}.pdf", i + 1)),
                mime_type: Set(Some("application/pdf".to_owned())),
                file_size: Set(Some(10_000 + g.n(85, i, 2_000_000) as i64)),
                document_type: Set(Some(kind.to_owned())),
                sha256: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
        insert_chunks(&txn, docs).await?;
    }
    let mut accounts = Vec::new();
    for i in 0..args.email_accounts.min(user_ids.len() as u64) {
        let (user_id, n) = user_ids[i as usize];
        let at = g.at(90, i);
        accounts.push(oauth_email_accounts::ActiveModel {
            id: Set(g.id(91, i)),
            user_id: Set(user_id),
            provider: Set(["google", "microsoft"][g.n(92, i, 2) as usize].to_owned()),
            email: Set(format!("rep{}@mail.example", n + 1)),
            access_token: Set(None),
            refresh_token: Set(None),
            token_expires_at: Set(None),
            needs_reconnect: Set(false),
            refresh_error: Set(None),
            refreshed_at: Set(None),
            refresh_lease_until: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    insert_chunks(&txn, accounts).await?;
    txn.commit().await?;
    // Fresh statistics for the planner: without them the first queries after a bulk load
    // (and the autovacuum that catches up meanwhile) are much slower.
    db.execute_unprepared("ANALYZE").await?;
    tracing::info!(
        users = args.users,
        clients = args.clients,
        contracts = contract_no,
        payments = payment_no,
        notes = args.notes,
        documents = args.documents,
        seconds = started.elapsed().as_secs_f64(),
        "demo data inserted"
    );
    Ok(())
}

/// Inserts rows in chunks that stay below SQLite's limit of bound parameters.
async fn insert_chunks<A>(txn: &sea_orm::DatabaseTransaction, rows: Vec<A>) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(1000).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
