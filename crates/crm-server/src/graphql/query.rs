//! SQL building blocks shared by every list: table scopes (aliases), column references and
//! backend-specific snippets. Everything is bound as parameters; only constant SQL is spliced.

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Expr};

/// The table alias a condition or sort expression refers to, and the backend it targets.
/// Subqueries (relation filters, computed fields) get fresh aliases from [`Scope::child`].
#[derive(Debug)]
pub struct Scope {
    pub alias: String,
    pub backend: DbBackend,
    counter: std::sync::Arc<AtomicUsize>,
}

impl Scope {
    /// The scope of the outermost table, aliased `t0`.
    pub fn root(backend: DbBackend) -> Scope {
        Scope {
            alias: "t0".to_owned(),
            backend,
            counter: std::sync::Arc::new(AtomicUsize::new(1)),
        }
    }

    /// A fresh alias for a subquery.
    pub fn child(&self) -> Scope {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Scope {
            alias: format!("t{n}"),
            backend: self.backend,
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
