//! The stored totals checked against the rows they sum (`crm-server check-totals`).
//!
//! The database keeps each contract's `paid_amount` and `last_payment_date` in the
//! transaction of every payment written (migration `contract_totals`, which also derives
//! `outstanding_amount` from them), and each client's `contract_count`,
//! `total_contract_value` and `outstanding_amount` in the transaction of every contract
//! written (migration `client_totals`). [`check`] recomputes each level from the stored rows
//! of the level below and reports every row whose stored values differ (a write that bypassed
//! the triggers, a restore of part of the data); with `fix`, it stores the recomputed values,
//! contracts first so that the clients are checked against repaired contracts.

use std::fmt;

use chrono::NaiveDate;
use entity::{Role, Table};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, UpdateStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult};
use uuid::Uuid;

use crate::clients::computed::{
    recomputed_contract_count, recomputed_outstanding_amount, recomputed_total_contract_value,
};
use crate::contracts::computed::{recomputed_last_payment, recomputed_paid};
use crate::engine::{Scope, Viewer};

/// A stored column and how to recompute it from the rows below.
struct Total {
    column: &'static str,
    recomputed: fn(&Scope) -> String,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Money,
    Date,
    Count,
}

/// The tables that carry stored totals, in the order they are checked and repaired (a level
/// is recomputed from the stored values of the one before).
const STORED: [(Table, &[Total]); 2] = [
    (
        Table::Contracts,
        &[
            Total {
                column: "paid_amount",
                recomputed: recomputed_paid,
                kind: Kind::Money,
            },
            Total {
                column: "last_payment_date",
                recomputed: recomputed_last_payment,
                kind: Kind::Date,
            },
        ],
    ),
    (
        Table::Clients,
        &[
            Total {
                column: "contract_count",
                recomputed: recomputed_contract_count,
                kind: Kind::Count,
            },
            Total {
                column: "total_contract_value",
                recomputed: recomputed_total_contract_value,
                kind: Kind::Money,
            },
            Total {
                column: "outstanding_amount",
                recomputed: recomputed_outstanding_amount,
                kind: Kind::Money,
            },
        ],
    ),
];

/// A value of a stored total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Figure {
    Money(Decimal),
    Date(Option<NaiveDate>),
    Count(i64),
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Figure::Money(m) => write!(f, "{m}"),
            Figure::Date(Some(d)) => write!(f, "{d}"),
            Figure::Date(None) => write!(f, "none"),
            Figure::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Kind {
    fn read(self, row: &QueryResult, column: &str) -> Result<Figure, DbErr> {
        Ok(match self {
            Kind::Money => Figure::Money(row.try_get::<Decimal>("", column)?.normalize()),
            Kind::Date => Figure::Date(row.try_get("", column)?),
            Kind::Count => Figure::Count(row.try_get("", column)?),
        })
    }
}

/// A stored total that differs from the rows it sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub table: Table,
    pub id: Uuid,
    pub column: &'static str,
    pub stored: Figure,
    pub recomputed: Figure,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} is {} stored, {} recomputed",
            self.table.name(),
            self.id,
            self.column,
            self.stored,
            self.recomputed
        )
    }
}

/// Every stored total that differs from the rows it sums; with `fix`, each drifted row stored
/// again from its rows (one statement per row).
pub async fn check(db: &DatabaseConnection, fix: bool) -> Result<Vec<Drift>, DbErr> {
    let backend = db.get_database_backend();
    let mut drifts = Vec::new();
    for (table, totals) in STORED {
        let s = Scope::root(backend, ANYONE);
        let mut select = Query::select()
            .expr_as(s.col("id"), Alias::new("id"))
            .from_as(Alias::new(table.name()), Alias::new(&s.alias))
            .to_owned();
        let mut differs = Vec::new();
        for (i, total) in totals.iter().enumerate() {
            let recomputed = (total.recomputed)(&s);
            select
                .expr_as(s.col(total.column), Alias::new(format!("stored{i}")))
                .expr_as(
                    Expr::cust(recomputed.clone()),
                    Alias::new(format!("recomputed{i}")),
                );
            let distinct = match backend {
                DbBackend::Sqlite => "IS NOT",
                _ => "IS DISTINCT FROM",
            };
            differs.push(format!("{} {distinct} {recomputed}", s.raw(total.column)));
        }
        // Only the drifted rows come back (compared again below, exactly).
        select.and_where(Expr::cust(differs.join(" OR ")));
        let mut drifted = Vec::new();
        for row in db.query_all(&select).await? {
            let id: Uuid = row.try_get("", "id")?;
            let before = drifts.len();
            for (i, total) in totals.iter().enumerate() {
                let stored = total.kind.read(&row, &format!("stored{i}"))?;
                let recomputed = total.kind.read(&row, &format!("recomputed{i}"))?;
                if stored != recomputed {
                    drifts.push(Drift {
                        table,
                        id,
                        column: total.column,
                        stored,
                        recomputed,
                    });
                }
            }
            if drifts.len() > before {
                drifted.push(id);
            }
        }
        if fix {
            for id in drifted {
                let (s, mut update) = recompute(backend, table, totals);
                update.and_where(s.col("id").eq(id));
                db.execute(&update).await?;
            }
        }
    }
    Ok(drifts)
}

/// Stores every total recomputed from its rows, one statement per table (after a bulk load
/// made with the triggers disabled).
pub async fn recompute_all(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    for (table, totals) in STORED {
        let (_, update) = recompute(db.get_database_backend(), table, totals);
        db.execute(&update).await?;
    }
    Ok(())
}

/// The checks read every row, whoever would see it.
const ANYONE: Viewer = Viewer {
    user_id: Uuid::nil(),
    role: Role::Admin,
};

/// `UPDATE <table> SET <totals recomputed from their rows>` (every row), and the scope its
/// conditions refer to.
fn recompute(backend: DbBackend, table: Table, totals: &[Total]) -> (Scope, UpdateStatement) {
    let s = Scope::named(table.name(), backend, ANYONE);
    let mut update = Query::update().table(Alias::new(table.name())).to_owned();
    for total in totals {
        update.value(Alias::new(total.column), Expr::cust((total.recomputed)(&s)));
    }
    (s, update)
}
