//! Keyset pagination: the checked arguments of a list ([`Plan`]), its sort keys with the `id`
//! tie-break, the conditions that start a page after or before a cursor, and the base
//! `SELECT` of a page.

use std::sync::Arc;

use sea_orm::EntityTrait;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Order, Query, SelectStatement};

use crate::engine::access::{Reach, restrict_in_reach};
use crate::engine::args::*;
use crate::engine::budget::*;
use crate::engine::columns::{ColumnSet, PartialModel, select_columns};
use crate::engine::cursor::{Cursor, KeyKind, SortValue, SqlKey};
use crate::engine::order::{NullsOrder, OrderBy, OrderDirection, SortField};
use crate::engine::page::*;
use crate::engine::record::{Listable, Record};
use crate::engine::scope::Scope;
use crate::error::AppError;

/// Checked arguments: what to fetch.
pub(crate) struct Plan<O: SortField> {
    pub(crate) limit: usize,
    pub(crate) backward: bool,
    pub(crate) order: Vec<OrderBy<O>>,
    pub(crate) signature: Arc<str>,
    pub(crate) after: Option<Cursor>,
    pub(crate) before: Option<Cursor>,
}

/// Sort keys one list accepts (more could not change the order: ids are unique).
pub const MAX_SORT_KEYS: usize = 8;

/// Checks the arguments of a list of the table `list`: its cursors must have been made for
/// that table (root list or relation pages alike) and for the same ordering.
pub(crate) fn plan<F, O: SortField>(
    list: &str,
    args: &ListArgs<F, O>,
    limits: PageLimits,
) -> Result<Plan<O>, AppError> {
    let size = |value: i32, name: &str| -> Result<usize, AppError> {
        match usize::try_from(value) {
            Ok(n) if n <= limits.max_size => Ok(n),
            _ => Err(AppError::bad_input(
                name,
                format!("`{name}` must be between 0 and {}", limits.max_size),
            )),
        }
    };
    let (limit, backward) = match (args.first, args.last) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_input(
                "last",
                "pass `first` (with `after`) or `last` (with `before`), not both",
            ));
        }
        (Some(first), None) => (size(first, "first")?, false),
        (None, Some(last)) => (size(last, "last")?, true),
        (None, None) => (limits.default_size, false),
    };
    let order = args.order_by.clone().unwrap_or_default();
    if order.len() > MAX_SORT_KEYS {
        return Err(AppError::bad_input(
            "orderBy",
            format!("`orderBy` takes at most {MAX_SORT_KEYS} sort keys"),
        ));
    }
    // `<table>:<field>.<direction><nulls>,…`: the list and the ordering a cursor belongs to.
    let mut signature = String::with_capacity(list.len() + 1 + 16 * order.len());
    signature.push_str(list);
    signature.push(':');
    for (i, o) in order.iter().enumerate() {
        if i > 0 {
            signature.push(',');
        }
        signature.push_str(o.field.name());
        signature.push('.');
        signature.push(match o.direction {
            OrderDirection::Asc => 'a',
            OrderDirection::Desc => 'd',
        });
        signature.push(match o.nulls {
            NullsOrder::First => 'f',
            NullsOrder::Last => 'l',
        });
    }
    let signature: Arc<str> = signature.into();
    let after = args
        .after
        .as_deref()
        .map(|c| Cursor::decode(c, "after", &signature))
        .transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|c| Cursor::decode(c, "before", &signature))
        .transpose()?;
    for (cursor, argument) in [(&after, "after"), (&before, "before")] {
        if cursor.as_ref().is_some_and(|c| c.keys.len() != order.len()) {
            return Err(AppError::bad_input(argument, "invalid cursor"));
        }
    }
    Ok(Plan {
        limit,
        backward,
        order,
        signature,
        after,
        before,
    })
}

/// One sort key of the effective order (the user's keys, then `id`).
pub(crate) struct Key {
    pub(crate) expr: Expr,
    pub(crate) desc: bool,
    pub(crate) nulls_first: bool,
    pub(crate) nullable: bool,
}

impl<O: SortField> Plan<O> {
    fn keys(&self, scope: &Scope) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .order
            .iter()
            .map(|o| Key {
                expr: o.field.expr(scope),
                desc: o.direction == OrderDirection::Desc,
                nulls_first: o.nulls == NullsOrder::First,
                nullable: o.field.nullable(),
            })
            .collect();
        keys.push(Key {
            expr: scope.col("id"),
            desc: false,
            nulls_first: false,
            nullable: false,
        });
        keys
    }

    /// `(expr, order)` pairs in the order rows are fetched (reversed for `last`).
    pub(crate) fn order_exprs(&self, scope: &Scope) -> Vec<(Expr, Order)> {
        self.ordering(self.keys(scope))
    }

    /// Whether [`Plan::compare`] orders rows of `backend` as the statement would: no text key
    /// (collations), no timestamp on SQLite (stored as text).
    pub(crate) fn sortable_here(&self, backend: sea_orm::DbBackend) -> bool {
        self.order.iter().all(|o| match o.field.kind() {
            KeyKind::Text => false,
            KeyKind::Timestamp => backend != sea_orm::DbBackend::Sqlite,
            _ => true,
        })
    }

    /// The order of two rows in the order rows are fetched (that of [`Plan::order_exprs`]):
    /// each key with its direction and its nulls, then the id; reversed for `last`.
    pub(crate) fn compare<R: Record>(&self, a: &Edge<R>, b: &Edge<R>) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let mut order = Ordering::Equal;
        for (o, (x, y)) in self.order.iter().zip(a.keys.iter().zip(&b.keys)) {
            order = match (x, y) {
                (SortValue::Null, SortValue::Null) => Ordering::Equal,
                (SortValue::Null, _) if o.nulls == NullsOrder::First => Ordering::Less,
                (SortValue::Null, _) => Ordering::Greater,
                (_, SortValue::Null) if o.nulls == NullsOrder::First => Ordering::Greater,
                (_, SortValue::Null) => Ordering::Less,
                (x, y) => {
                    let by_value = x.compare(y).unwrap_or(Ordering::Equal);
                    match o.direction {
                        OrderDirection::Asc => by_value,
                        OrderDirection::Desc => by_value.reverse(),
                    }
                }
            };
            if order != Ordering::Equal {
                break;
            }
        }
        let order = order.then_with(|| a.node.id().cmp(&b.node.id()));
        if self.backward {
            order.reverse()
        } else {
            order
        }
    }

    fn ordering(&self, mut keys: Vec<Key>) -> Vec<(Expr, Order)> {
        // The `id` tie-break adds nothing when the list is already ordered by `id` (and a
        // repeated key makes PostgreSQL sort again where the rows are already in order).
        if self.order.iter().any(|o| o.field.is_id()) {
            keys.pop();
        }
        let flip = |o: Order| match (o, self.backward) {
            (Order::Asc, true) => Order::Desc,
            (Order::Desc, true) => Order::Asc,
            (o, _) => o,
        };
        let mut out = Vec::new();
        for key in keys {
            if key.nullable {
                // `(x IS NULL)` sorts false before true on both backends.
                let nulls = if key.nulls_first {
                    Order::Desc
                } else {
                    Order::Asc
                };
                out.push((key.expr.clone().is_null(), flip(nulls)));
            }
            let dir = if key.desc { Order::Desc } else { Order::Asc };
            out.push((key.expr, flip(dir)));
        }
        out
    }

    /// Rows strictly after (`after = true`) or before the cursor, in the requested order.
    fn cursor_condition(
        &self,
        scope: &Scope,
        cursor: &Cursor,
        after: bool,
    ) -> Result<Condition, AppError> {
        let argument = if after { "after" } else { "before" };
        let invalid =
            || AppError::bad_input(argument, "invalid cursor: use a cursor this list returned");
        let mut values = Vec::new();
        for (o, value) in self.order.iter().zip(&cursor.keys) {
            values.push(
                value
                    .to_sql(o.field.kind(), scope.backend)
                    .map_err(|_| invalid())?,
            );
        }
        values.push(Some(crate::engine::cursor::SqlKey::Value(cursor.id.into())));
        Ok(past(&self.keys(scope), &values, after))
    }

    fn conditions(&self, scope: &Scope) -> Result<Condition, AppError> {
        let mut all = Condition::all();
        if let Some(after) = &self.after {
            all = all.add(self.cursor_condition(scope, after, true)?);
        }
        if let Some(before) = &self.before {
            all = all.add(self.cursor_condition(scope, before, false)?);
        }
        Ok(all)
    }
}

/// The rows strictly after (`after = true`) or before the row whose sort values are `values`,
/// in the order of `keys` (each with its direction and nulls): `k1 > v1 OR (k1 = v1 AND k2 > v2)
/// OR …`, with nulls where the order puts them. Lists and groups alike.
pub(crate) fn past(keys: &[Key], values: &[Option<SqlKey>], after: bool) -> Condition {
    let mut any = Condition::any();
    for i in 0..keys.len() {
        let mut all = Condition::all();
        for (key, value) in keys.iter().zip(values).take(i) {
            all = all.add(match value {
                None => key.expr.clone().is_null(),
                Some(v) => key.expr.clone().eq(clone_key(v).into_expr()),
            });
        }
        let key = &keys[i];
        // Is a row "past" the cursor in this key, in the direction we look?
        let nulls_past = if after {
            !key.nulls_first
        } else {
            key.nulls_first
        };
        let strictly = match values.get(i).and_then(Option::as_ref) {
            None => {
                if nulls_past {
                    continue; // nothing is past null in this direction
                }
                Condition::all().add(key.expr.clone().is_not_null())
            }
            Some(v) => {
                let v = clone_key(v).into_expr();
                let greater = after != key.desc;
                let cmp = if greater {
                    key.expr.clone().gt(v)
                } else {
                    key.expr.clone().lt(v)
                };
                let mut c = Condition::any().add(cmp);
                if key.nullable && nulls_past {
                    c = c.add(key.expr.clone().is_null());
                }
                c
            }
        };
        any = any.add(all.add(strictly));
    }
    if keys.is_empty() {
        return Condition::all();
    }
    any
}

/// A forward-only page over sort keys that are never null (`(expr, descending)`, the last one
/// unique): the rows after the row whose values are `after`, in that order, one more than
/// `limit` (to tell whether more follow). Search and the timeline page this way.
pub(crate) fn forward_page(
    select: &mut SelectStatement,
    keys: &[(Expr, bool)],
    after: Option<&[Option<SqlKey>]>,
    limit: usize,
) {
    if let Some(values) = after {
        let sort: Vec<Key> = keys
            .iter()
            .map(|(expr, desc)| Key {
                expr: expr.clone(),
                desc: *desc,
                nulls_first: false,
                nullable: false,
            })
            .collect();
        select.cond_where(past(&sort, values, true));
    }
    for (expr, desc) in keys {
        select.order_by_expr(expr.clone(), if *desc { Order::Desc } else { Order::Asc });
    }
    select.limit(limit as u64 + 1);
}

fn clone_key(key: &crate::engine::cursor::SqlKey) -> crate::engine::cursor::SqlKey {
    match key {
        crate::engine::cursor::SqlKey::Value(v) => crate::engine::cursor::SqlKey::Value(v.clone()),
        crate::engine::cursor::SqlKey::Expr(e) => crate::engine::cursor::SqlKey::Expr(e.clone()),
    }
}

/// `SELECT <columns>, <sort keys> FROM <table> t0 WHERE <filter> AND <cursor>`.
pub(crate) fn base_select<R: Listable>(
    plan: &Plan<R::OrderField>,
    filter: Option<&R::Filter>,
    columns: ColumnSet,
    extra: Condition,
    scope: &Scope,
    reach: Reach,
) -> Result<SelectStatement, AppError> {
    let mut select = Query::select();
    let table = Alias::new(&scope.alias);
    let names = <<R::Entity as EntityTrait>::Model as PartialModel>::COLUMNS;
    select_columns(&mut select, &table, names, columns);
    select.from_as(Alias::new(R::table().name()), Alias::new(&scope.alias));
    for (i, o) in plan.order.iter().enumerate() {
        select.expr_as(o.field.expr(scope), Alias::new(format!("__k{i}")));
    }
    let condition = extra
        .add(plan.conditions(scope)?)
        .add(crate::engine::filters::list_condition(filter, scope));
    select.cond_where(restrict_in_reach(condition, R::table(), scope, reach));
    Ok(select)
}
