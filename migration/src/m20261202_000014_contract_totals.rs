//! Contract totals kept by the database: `paid_amount` (the sum of the contract's paid
//! payments) and `last_payment_date` (the latest one), maintained by triggers on `payments` in
//! the transaction of every write, and `outstanding_amount` (what is still owed on a signed
//! contract) generated from them. Lists filter and sort on the stored values instead of a
//! subquery over payments per contract; `contracts_outstanding` serves the collections screen
//! (contracts still owed, largest first).
//!
//! A total changing is not a change of the contract: `updated_at` (and so the optimistic
//! concurrency of contract updates) moves only when one of the contract's own columns does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{
    add_column, create_updated_at_trigger, drop_columns, drop_updated_at_trigger,
    limit_updated_at_trigger, money_sum,
};

/// The payment status that counts as paid, as stored (`entity::PaymentStatus::PAID`; a test
/// of the server holds them equal).
pub const PAID_STATUS_SQL: &str = "'completed'";

/// The contract statuses whose amount is owed (`entity::ContractStatus::OWED`; a test of the
/// server holds them equal).
pub const OWED_STATUSES_SQL: &str = "('active', 'completed')";

/// The contract columns whose change is a change of the contract (everything but the totals
/// and the timestamps).
const OWN_COLUMNS: &str = "contract_number, client_id, commercial_id, title, amount, currency, \
                           status, start_date, end_date, signed_at";

#[derive(DeriveMigrationName)]
pub struct Migration;

fn paid_of(contract: &str, sqlite: bool) -> String {
    let backend = if sqlite {
        DbBackend::Sqlite
    } else {
        DbBackend::Postgres
    };
    let sum = money_sum(backend, "amount");
    format!(
        "(SELECT {sum} FROM payments WHERE contract_id = {contract} AND status = {PAID_STATUS_SQL})"
    )
}

fn last_of(contract: &str) -> String {
    format!(
        "(SELECT MAX(payment_date) FROM payments WHERE contract_id = {contract} \
         AND status = {PAID_STATUS_SQL})"
    )
}

/// `UPDATE contracts SET paid_amount = …, last_payment_date = … WHERE id = <contract>`.
pub(crate) fn refresh(contract: &str, sqlite: bool) -> String {
    format!(
        "UPDATE contracts SET paid_amount = {paid}, last_payment_date = {last} WHERE id = {contract}",
        paid = paid_of(contract, sqlite),
        last = last_of(contract),
    )
}

pub(crate) const PG_FUNCTION: &str =
    "CREATE OR REPLACE FUNCTION refresh_contract_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM refresh_contract_paid(NEW.contract_id);
    END IF;
    IF TG_OP = 'DELETE' OR OLD.contract_id IS DISTINCT FROM NEW.contract_id THEN
        PERFORM refresh_contract_paid(OLD.contract_id);
    END IF;
    RETURN NULL;
END
$$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;
        let db = manager.get_connection();
        add_column(
            manager,
            "contracts",
            ColumnDef::new("paid_amount")
                .decimal_len(14, 2)
                .not_null()
                .default(0)
                .to_owned(),
        )
        .await?;
        add_column(
            manager,
            "contracts",
            ColumnDef::new("last_payment_date").date().null().to_owned(),
        )
        .await?;
        db.execute_unprepared(
            &refresh("contracts.id", sqlite).replace(" WHERE id = contracts.id", ""),
        )
        .await?;
        let outstanding =
            format!("CASE WHEN status IN {OWED_STATUSES_SQL} THEN amount - paid_amount ELSE 0 END");
        let outstanding = if sqlite {
            format!("ROUND({outstanding}, 2)")
        } else {
            outstanding
        };
        add_column(
            manager,
            "contracts",
            ColumnDef::new("outstanding_amount")
                .decimal_len(14, 2)
                .generated(Expr::cust(outstanding), !sqlite)
                .to_owned(),
        )
        .await?;
        // The collections screen: contracts still owed, largest first (then by id).
        db.execute_unprepared(
            "CREATE INDEX contracts_outstanding ON contracts (outstanding_amount DESC, id) \
             WHERE outstanding_amount > 0",
        )
        .await?;
        if sqlite {
            for (name, event, contracts) in [
                ("insert", "INSERT", vec!["NEW.contract_id"]),
                (
                    "update",
                    "UPDATE OF contract_id, amount, status, payment_date",
                    vec!["NEW.contract_id", "OLD.contract_id"],
                ),
                ("delete", "DELETE", vec!["OLD.contract_id"]),
            ] {
                let body: Vec<String> = contracts
                    .iter()
                    .map(|contract| format!("{};", refresh(contract, true)))
                    .collect();
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER payments_contract_totals_{name} AFTER {event} ON payments \
                     FOR EACH ROW BEGIN {} END",
                    body.join(" ")
                ))
                .await?;
            }
        } else {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION refresh_contract_paid(contract uuid) RETURNS void \
                 LANGUAGE sql AS $$ {} $$",
                refresh("contract", false)
            ))
            .await?;
            db.execute_unprepared(PG_FUNCTION).await?;
            db.execute_unprepared(
                "CREATE TRIGGER payments_contract_totals \
                 AFTER INSERT OR DELETE OR UPDATE OF contract_id, amount, status, payment_date \
                 ON payments FOR EACH ROW EXECUTE FUNCTION refresh_contract_totals()",
            )
            .await?;
        }
        limit_updated_at_trigger(manager, "contracts", OWN_COLUMNS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sqlite = manager.get_database_backend() == DbBackend::Sqlite;
        let db = manager.get_connection();
        drop_updated_at_trigger(manager, "contracts").await?;
        if sqlite {
            for name in ["insert", "update", "delete"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS payments_contract_totals_{name}"
                ))
                .await?;
            }
        } else {
            db.execute_unprepared("DROP TRIGGER IF EXISTS payments_contract_totals ON payments")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS refresh_contract_totals()")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS refresh_contract_paid(uuid)")
                .await?;
        }
        create_updated_at_trigger(manager, "contracts").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS contracts_outstanding")
            .await?;
        drop_columns(
            manager,
            "contracts",
            &["outstanding_amount", "last_payment_date", "paid_amount"],
        )
        .await
    }
}
