//! Client totals kept by the database: `contract_count` (every contract), `total_contract_value`
//! (the amounts of signed contracts) and `outstanding_amount` (the sum of the contracts'
//! outstanding amounts), maintained by triggers on `contracts` in the transaction of every
//! write that changes them. A payment changes its contract's `paid_amount` (migration
//! `contract_totals`), which changes the client's outstanding amount in turn. Lists filter and
//! sort on the stored values instead of a subquery over contracts per client;
//! `clients_outstanding` serves "who owes the most".
//!
//! A total changing is not a change of the client: `updated_at` moves only when one of the
//! client's own columns does.
//!
//! Recording a payment, the frequent write, adds to its contract's totals rather than summing
//! the contract's payments again (which made the write cost grow with the contract's
//! payments); other payment changes still recompute. A recomputation first locks the row it
//! recomputes, then sums in a statement of its own, which on PostgreSQL sees every write
//! committed meanwhile: two payments on two contracts of one client, recorded at once, both
//! reach the client's outstanding amount. The PostgreSQL functions are PL/pgSQL, whose
//! statements keep their plans for the session (as SQL functions, migration
//! `contract_totals`, they were planned again at every call).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::{
    add_column, create_updated_at_trigger, drop_columns, drop_updated_at_trigger,
    limit_updated_at_trigger, money_sum,
};
use crate::m20261202_000014_contract_totals::{
    PG_FUNCTION as PG_PAYMENTS_FUNCTION, refresh as refresh_contract,
};
use crate::{OWED_STATUSES_SQL, PAID_STATUS_SQL};

/// The client columns whose change is a change of the client.
const OWN_COLUMNS: &str = "company_name, email, phone, address, city, postal_code, country, \
                           status, kyc_completed, kyc_completed_at, assigned_to";

/// The contract columns the client totals depend on.
const SUMMED_COLUMNS: [&str; 4] = ["client_id", "amount", "status", "paid_amount"];

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `UPDATE clients SET <totals recomputed from the contracts> WHERE id = <client>`.
fn refresh(client: &str, backend: DbBackend) -> String {
    let of_client = format!("FROM contracts WHERE client_id = {client}");
    format!(
        "UPDATE clients SET \
         contract_count = (SELECT COUNT(*) {of_client}), \
         total_contract_value = (SELECT {value} {of_client} AND status IN {OWED_STATUSES_SQL}), \
         outstanding_amount = (SELECT {outstanding} {of_client}) \
         WHERE id = {client}",
        value = money_sum(backend, "amount"),
        outstanding = money_sum(backend, "outstanding_amount"),
    )
}

/// `NEW.a IS DISTINCT FROM OLD.a OR …` over `columns`: an update that changes none of them
/// (a payment left the paid amount as it was) leaves the totals alone.
fn changed(columns: &[&str], distinct: &str) -> String {
    columns
        .iter()
        .map(|c| format!("NEW.{c} {distinct} OLD.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `CREATE OR REPLACE FUNCTION <name>(<param> uuid)` running `body`, in `language`; in
/// PL/pgSQL, after locking the row of `table` it recomputes.
fn pg_refresh_function(name: &str, table: &str, param: &str, body: &str, language: &str) -> String {
    let body = match language {
        "plpgsql" => format!(
            "BEGIN PERFORM 1 FROM {table} WHERE id = {param} FOR NO KEY UPDATE; {body}; END"
        ),
        _ => body.to_owned(),
    };
    format!(
        "CREATE OR REPLACE FUNCTION {name}({param} uuid) RETURNS void LANGUAGE {language} \
         AS $$ {body} $$"
    )
}

/// What a paid payment recorded adds to its contract: the amount, and its date if later.
fn add_payment(sqlite: bool) -> String {
    let (paid, last) = if sqlite {
        (
            "ROUND(paid_amount + NEW.amount, 2)",
            "CASE WHEN last_payment_date IS NULL OR NEW.payment_date > last_payment_date \
             THEN NEW.payment_date ELSE last_payment_date END",
        )
    } else {
        (
            "paid_amount + NEW.amount",
            "GREATEST(last_payment_date, NEW.payment_date)",
        )
    };
    format!(
        "UPDATE contracts SET paid_amount = {paid}, last_payment_date = {last} \
         WHERE id = NEW.contract_id"
    )
}

/// The payment columns the contract totals depend on.
const PAID_COLUMNS: [&str; 4] = ["contract_id", "amount", "status", "payment_date"];

/// A PL/pgSQL trigger function `name`: `inserted` first for inserts when given (which then
/// stop there); updates that change none of `watched` stop; otherwise `refresh(<key>)` for the
/// new row's `key` and, when the row went or moved, the old one's.
fn pg_trigger_function(
    name: &str,
    inserted: Option<&str>,
    watched: &[&str],
    key: &str,
    refresh: &str,
) -> String {
    let inserted = inserted.map_or(String::new(), |body| {
        format!("IF TG_OP = 'INSERT' THEN {body} RETURN NULL; END IF;")
    });
    format!(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {inserted}
    IF TG_OP = 'UPDATE' AND NOT ({changed}) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM {refresh}(NEW.{key});
    END IF;
    IF TG_OP = 'DELETE' OR OLD.{key} IS DISTINCT FROM NEW.{key} THEN
        PERFORM {refresh}(OLD.{key});
    END IF;
    RETURN NULL;
END
$$",
        changed = changed(watched, "IS DISTINCT FROM"),
    )
}

/// Payments: a paid payment recorded is added to its contract; other changes recompute it.
fn pg_payments_function() -> String {
    pg_trigger_function(
        "refresh_contract_totals",
        Some(&format!(
            "IF NEW.status = {PAID_STATUS_SQL} THEN {}; END IF;",
            add_payment(false)
        )),
        &PAID_COLUMNS,
        "contract_id",
        "refresh_contract_paid",
    )
}

/// Contracts: their clients' totals recomputed.
fn pg_function() -> String {
    pg_trigger_function(
        "contracts_refresh_client_totals",
        None,
        &SUMMED_COLUMNS,
        "client_id",
        "refresh_client_totals",
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for column in [
            ColumnDef::new("contract_count")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new("total_contract_value")
                .decimal_len(16, 2)
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new("outstanding_amount")
                .decimal_len(16, 2)
                .not_null()
                .default(0)
                .to_owned(),
        ] {
            add_column(manager, "clients", column).await?;
        }
        db.execute_unprepared(
            &refresh("clients.id", backend).replace(" WHERE id = clients.id", ""),
        )
        .await?;
        // Who owes the most: clients still owing, largest first (then by id).
        db.execute_unprepared(
            "CREATE INDEX clients_outstanding ON clients (outstanding_amount DESC, id) \
             WHERE outstanding_amount > 0",
        )
        .await?;
        if backend == DbBackend::Sqlite {
            let columns = SUMMED_COLUMNS.join(", ");
            let changed = changed(&SUMMED_COLUMNS, "IS NOT");
            for (name, event, clients) in [
                ("insert", "INSERT".to_owned(), vec!["NEW.client_id"]),
                (
                    "update",
                    format!("UPDATE OF {columns}"),
                    vec!["NEW.client_id", "OLD.client_id"],
                ),
                ("delete", "DELETE".to_owned(), vec!["OLD.client_id"]),
            ] {
                let when = if name == "update" {
                    format!("WHEN {changed} ")
                } else {
                    String::new()
                };
                let body: Vec<String> = clients
                    .iter()
                    .map(|client| format!("{};", refresh(client, backend)))
                    .collect();
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER contracts_client_totals_{name} AFTER {event} ON contracts \
                     FOR EACH ROW {when}BEGIN {} END",
                    body.join(" ")
                ))
                .await?;
            }
            // One call, so one connection (see `limit_updated_at_trigger`).
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS payments_contract_totals_insert; \
                 CREATE TRIGGER payments_contract_totals_insert AFTER INSERT ON payments \
                 FOR EACH ROW WHEN NEW.status = {PAID_STATUS_SQL} BEGIN {}; END",
                add_payment(true)
            ))
            .await?;
        } else {
            db.execute_unprepared(&pg_refresh_function(
                "refresh_client_totals",
                "clients",
                "client",
                &refresh("client", backend),
                "plpgsql",
            ))
            .await?;
            db.execute_unprepared(&pg_refresh_function(
                "refresh_contract_paid",
                "contracts",
                "contract",
                &refresh_contract("contract", false),
                "plpgsql",
            ))
            .await?;
            db.execute_unprepared(&pg_payments_function()).await?;
            db.execute_unprepared(&pg_function()).await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER contracts_client_totals \
                 AFTER INSERT OR DELETE OR UPDATE OF {} ON contracts \
                 FOR EACH ROW EXECUTE FUNCTION contracts_refresh_client_totals()",
                SUMMED_COLUMNS.join(", ")
            ))
            .await?;
        }
        limit_updated_at_trigger(manager, "clients", OWN_COLUMNS).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        drop_updated_at_trigger(manager, "clients").await?;
        if backend == DbBackend::Sqlite {
            for name in ["insert", "update", "delete"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS contracts_client_totals_{name}"
                ))
                .await?;
            }
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS payments_contract_totals_insert; \
                 CREATE TRIGGER payments_contract_totals_insert AFTER INSERT ON payments \
                 FOR EACH ROW BEGIN {}; END",
                refresh_contract("NEW.contract_id", true)
            ))
            .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER IF EXISTS contracts_client_totals ON contracts")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS contracts_refresh_client_totals()")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS refresh_client_totals(uuid)")
                .await?;
            db.execute_unprepared(&pg_refresh_function(
                "refresh_contract_paid",
                "contracts",
                "contract",
                &refresh_contract("contract", false),
                "sql",
            ))
            .await?;
            db.execute_unprepared(PG_PAYMENTS_FUNCTION).await?;
        }
        create_updated_at_trigger(manager, "clients").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS clients_outstanding")
            .await?;
        drop_columns(
            manager,
            "clients",
            &[
                "outstanding_amount",
                "total_contract_value",
                "contract_count",
            ],
        )
        .await
    }
}
