//! SQL building blocks shared by every list: table scopes (aliases), column references and
//! backend-specific snippets. Everything is bound as parameters; only constant SQL is spliced.

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr};

use crate::engine::access::Viewer;

/// The table alias a condition or sort expression refers to, the backend it targets and who
/// is asking (see [`crate::auth::policy::visible`]). Subqueries (relation filters, computed
/// fields) get fresh aliases from [`Scope::child`].
#[derive(Debug)]
pub struct Scope {
    pub alias: String,
    pub backend: DbBackend,
    pub viewer: Viewer,
    counter: std::sync::Arc<AtomicUsize>,
}

impl Scope {
    /// The scope of the outermost table, aliased `t0`.
    pub fn root(backend: DbBackend, viewer: Viewer) -> Scope {
        Scope::named("t0", backend, viewer)
    }

    /// The scope of a table referred to by `name` (its own name, in SeaORM's queries).
    pub fn named(name: &str, backend: DbBackend, viewer: Viewer) -> Scope {
        Scope {
            alias: name.to_owned(),
            backend,
            viewer,
            counter: std::sync::Arc::new(AtomicUsize::new(1)),
        }
    }

    /// A fresh alias for a subquery.
    pub fn child(&self) -> Scope {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Scope {
            alias: format!("t{n}"),
            backend: self.backend,
            viewer: self.viewer,
            counter: self.counter.clone(),
        }
    }

    /// `alias.column`.
    pub fn col(&self, column: &str) -> Expr {
        Expr::col((Alias::new(&self.alias), Alias::new(column)))
    }

    /// `alias.column` as SQL text, for the constant snippets of computed fields.
    pub fn raw(&self, column: &str) -> String {
        format!("\"{}\".\"{}\"", self.alias, column)
    }

    /// A SQL snippet with expression placeholders written `$1`, `$2` … (each once, in
    /// order), rendered with the backend's own placeholder syntax.
    pub fn sql_with(&self, template: &str, exprs: impl IntoIterator<Item = Expr>) -> Expr {
        let exprs: Vec<Expr> = exprs.into_iter().collect();
        let mut template = template.to_owned();
        if self.is_sqlite() {
            for i in (1..=exprs.len()).rev() {
                template = template.replace(&format!("${i}"), "?");
            }
        }
        Expr::cust_with_exprs(template, exprs)
    }

    pub fn is_sqlite(&self) -> bool {
        self.backend == DbBackend::Sqlite
    }

    /// A sum of money as a two-decimal value on both backends (`0` when there are no rows).
    pub fn money_sum(&self, inner: &str) -> String {
        if self.is_sqlite() {
            format!("ROUND(TOTAL({inner}), 2)")
        } else {
            format!("COALESCE(SUM({inner}), 0)")
        }
    }

    /// Rounds a money expression on SQLite (stored as REAL), unchanged on PostgreSQL.
    pub fn money(&self, expr: &str) -> String {
        if self.is_sqlite() {
            format!("ROUND({expr}, 2)")
        } else {
            expr.to_owned()
        }
    }
}

/// `SELECT t0.id, <columns> FROM <table> t0 WHERE t0.id IN (<ids>)`, each row read by `read`:
/// how computed fields are loaded for a whole level at once.
pub async fn select_by_ids<T>(
    db: &crate::engine::reader::Reader,
    viewer: Viewer,
    table: entity::Table,
    ids: impl Iterator<Item = uuid::Uuid>,
    columns: impl Fn(&Scope) -> Vec<(&'static str, Expr)>,
    read: impl Fn(&sea_orm::QueryResult) -> Result<T, sea_orm::DbErr>,
) -> Result<std::collections::HashMap<uuid::Uuid, T>, crate::error::AppError> {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{ExprTrait, Query};
    let s = Scope::root(db.get_database_backend(), viewer);
    let mut select = Query::select();
    select
        .expr_as(s.col("id"), Alias::new("id"))
        .from_as(Alias::new(table.name()), Alias::new(&s.alias))
        .cond_where(crate::engine::access::restrict_in_reach(
            sea_orm::sea_query::Condition::all().add(s.col("id").is_in(ids)),
            table,
            &s,
            crate::engine::access::Reach::Ids,
        ));
    for (name, expr) in columns(&s) {
        select.expr_as(expr, Alias::new(name));
    }
    let rows = db.query_all(&select).await?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        out.insert(row.try_get::<uuid::Uuid>("", "id")?, read(&row)?);
    }
    Ok(out)
}

/// Stored enum values as the list of an SQL `IN` (`('active', 'completed')`), for constant
/// SQL snippets: the values come from the entity's enum, never from a request.
pub fn sql_list<E: sea_orm::ActiveEnum<Value = String> + Copy>(values: &[E]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| sql_literal(*value)).collect();
    format!("({})", quoted.join(", "))
}

/// A stored enum value as an SQL literal (`'completed'`), for constant SQL snippets.
pub fn sql_literal<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> String {
    format!("'{}'", value.to_value().replace('\'', "''"))
}
