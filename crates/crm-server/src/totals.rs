//! The stored totals checked against the rows they sum (`crm-server check-totals`).
//!
//! The database keeps each contract's `paid_amount` and `last_payment_date` in the
//! transaction of every payment written (triggers, migration `contract_totals`), and derives
//! `outstanding_amount` from them. [`check`] recomputes both from the payments and reports any
//! contract whose stored values differ (a write that bypassed the triggers, a restore of part
//! of the data); with `fix`, it stores the recomputed values.

use chrono::NaiveDate;
use entity::{Role, Table};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, UpdateStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};
use uuid::Uuid;

use crate::contracts::computed::{recomputed_last_payment, recomputed_paid};
use crate::engine::{Scope, Viewer};

/// A contract whose stored totals differ from its payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub contract_id: Uuid,
    pub stored_paid: Decimal,
    pub paid: Decimal,
    pub stored_last_payment: Option<NaiveDate>,
    pub last_payment: Option<NaiveDate>,
}

/// Every contract whose stored totals differ from its payments; with `fix`, stored again
/// from the payments (in one statement per contract).
pub async fn check(db: &DatabaseConnection, fix: bool) -> Result<Vec<Drift>, DbErr> {
    let backend = db.get_database_backend();
    let s = Scope::root(backend, ANYONE);
    let select = Query::select()
        .expr_as(s.col("id"), Alias::new("id"))
        .expr_as(s.col("paid_amount"), Alias::new("stored_paid"))
        .expr_as(Expr::cust(recomputed_paid(&s)), Alias::new("paid"))
        .expr_as(s.col("last_payment_date"), Alias::new("stored_last"))
        .expr_as(Expr::cust(recomputed_last_payment(&s)), Alias::new("last"))
        .from_as(Alias::new(Table::Contracts.name()), Alias::new(&s.alias))
        .to_owned();
    let mut drifts = Vec::new();
    for row in db.query_all(&select).await? {
        let drift = Drift {
            contract_id: row.try_get("", "id")?,
            stored_paid: row.try_get::<Decimal>("", "stored_paid")?.normalize(),
            paid: row.try_get::<Decimal>("", "paid")?.normalize(),
            stored_last_payment: row.try_get("", "stored_last")?,
            last_payment: row.try_get("", "last")?,
        };
        if drift.stored_paid != drift.paid || drift.stored_last_payment != drift.last_payment {
            drifts.push(drift);
        }
    }
    if fix {
        for drift in &drifts {
            let (s, mut update) = recompute(backend);
            update.and_where(s.col("id").eq(drift.contract_id));
            db.execute(&update).await?;
        }
    }
    Ok(drifts)
}

/// Stores every contract's totals recomputed from its payments, in one statement (after a
/// bulk load made with the triggers disabled).
pub async fn recompute_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let (_, update) = recompute(db.get_database_backend());
    db.execute(&update).await?;
    Ok(())
}

/// The checks read every row, whoever would see it.
const ANYONE: Viewer = Viewer {
    user_id: Uuid::nil(),
    role: Role::Admin,
};

/// `UPDATE contracts SET <totals recomputed from the payments>` (every row), and the scope
/// its conditions refer to.
fn recompute(backend: DbBackend) -> (Scope, UpdateStatement) {
    let s = Scope::named(Table::Contracts.name(), backend, ANYONE);
    let update = Query::update()
        .table(Alias::new(Table::Contracts.name()))
        .value(Alias::new("paid_amount"), Expr::cust(recomputed_paid(&s)))
        .value(
            Alias::new("last_payment_date"),
            Expr::cust(recomputed_last_payment(&s)),
        )
        .to_owned();
    (s, update)
}
