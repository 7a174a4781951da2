//! Reading pages: a root list's page ([`fetch_page`]), the pages of a to-many relation for
//! every parent of a level in one statement ([`fetch_children`]: capped and ordered by parent,
//! or with `ROW_NUMBER() OVER (PARTITION BY parent …)` when a parent has more rows than the
//! pages need), and counts.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Order, Query, QueryStatementBuilder,
    SelectStatement, WindowStatement,
};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::engine::access::{Reach, Viewer, restrict_in_reach};
use crate::engine::args::*;
use crate::engine::budget::*;
use crate::engine::columns::{ColumnSet, PartialModel};
use crate::engine::connection::*;
use crate::engine::cursor::SortValue;
use crate::engine::decode::read_at;
use crate::engine::keyset::*;
use crate::engine::order::SortField;
use crate::engine::reader::Reader;
use crate::engine::record::{Listable, Record};
use crate::engine::scope::Scope;
use crate::error::AppError;

/// One row of a page, with its sort values (for its cursor).
#[derive(Clone)]
pub struct Edge<R> {
    pub(crate) node: R,
    pub(crate) keys: Vec<SortValue>,
    pub(crate) order: Arc<str>,
}

/// A page of rows: what one list field returns before it becomes a connection.
pub struct Page<R> {
    pub(crate) edges: Vec<Edge<R>>,
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
}

impl<R> Page<R> {
    /// The rows of the page, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &R> {
        self.edges.iter().map(|e| &e.node)
    }
}

impl<R> Default for Page<R> {
    fn default() -> Self {
        Page {
            edges: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }
}

/// Rows of a page with, on relation pages, the parent each belongs to and its position in
/// the parent's page (the window's row number; 0 when the rows come in order).
type Decoded<R> = Vec<(Option<(Uuid, i64)>, Edge<R>)>;

/// What follows a row's selected columns and sort keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// Nothing (root lists).
    None,
    /// The parent's id (`__parent`).
    Id,
    /// The parent's id and the row's number in its page (`__rn`).
    IdAndNumber,
}

fn decode_rows<R: Listable>(
    rows: Vec<sea_orm::QueryResult>,
    plan: &Plan<R::OrderField>,
    selected: ColumnSet,
    parent: Parent,
) -> Result<Decoded<R>, AppError> {
    type Model<R> = <<R as Record>::Entity as EntityTrait>::Model;
    // The row: the selected columns, the sort keys, then (relation pages) the parent and the
    // row number.
    let first_key = selected.count(<Model<R> as PartialModel>::COLUMNS.len());
    let parent_at = first_key + plan.order.len();
    // Sized up front: growing it moved every decoded row again at each doubling.
    let mut decoded = Vec::with_capacity(rows.len());
    for row in rows {
        let model = crate::engine::columns::decode::<Model<R>>(&row, selected, 0)?;
        let mut keys = Vec::with_capacity(plan.order.len());
        for (i, o) in plan.order.iter().enumerate() {
            keys.push(SortValue::read(&row, first_key + i, o.field.kind())?);
        }
        let parent = match parent {
            Parent::None => None,
            Parent::Id => read_at::<Option<Uuid>>(&row, parent_at)?.map(|id| (id, 0)),
            Parent::IdAndNumber => {
                let id = read_at::<Option<Uuid>>(&row, parent_at)?;
                let number = read_at::<i64>(&row, parent_at + 1)?;
                id.map(|id| (id, number))
            }
        };
        decoded.push((
            parent,
            Edge {
                node: R::from(model),
                keys,
                order: plan.signature.clone(),
            },
        ));
    }
    Ok(decoded)
}

/// Cuts the extra row fetched to know whether more follow, restores list order for `last`,
/// and works out where the page sits.
fn finish_page<R, O: SortField>(mut edges: Vec<Edge<R>>, plan: &Plan<O>) -> Page<R> {
    let has_more = edges.len() > plan.limit;
    edges.truncate(plan.limit);
    if plan.backward {
        edges.reverse();
    }
    let (has_after, has_before) = (plan.after.is_some(), plan.before.is_some());
    let (has_next_page, has_previous_page) = if plan.backward {
        (has_before, has_more || has_after)
    } else {
        (has_more || has_before, has_after)
    };
    Page {
        edges,
        has_next_page,
        has_previous_page,
    }
}

/// Fetches one page of a root list (the rows `viewer` may see). With `count` (the query
/// selects `totalCount`) and no cursor, the same statement also counts the matching rows (an
/// uncorrelated subquery, run once): one round trip instead of two. (Not `COUNT(*) OVER ()`:
/// it forces every match to be read and sorted.)
pub async fn fetch_page<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    args: Args<R>,
    columns: ColumnSet,
    limits: PageLimits,
    budget: &RowBudget,
    count: bool,
) -> Result<Connection<R>, AppError> {
    let plan = plan(R::table().name(), &args, limits)?;
    let scope = Scope::root(db.get_database_backend(), viewer);
    let mut select = base_select::<R>(
        &plan,
        args.filter.as_deref(),
        columns,
        Condition::all(),
        &scope,
        Reach::Table,
    )?;
    let count_here = count && plan.after.is_none() && plan.before.is_none();
    // A count known from an earlier request (nothing written since) is not counted again.
    let mut known = None;
    let mut remember = None;
    if count_here {
        let counted = count_select::<R>(&scope.child(), args.filter.as_deref(), Reach::Table);
        if db.counts().enabled() {
            let key = statement_text(&counted, db.get_database_backend());
            match db.counts().get(&key) {
                Some(total) => known = Some(total),
                None => remember = Some((key, db.counts().generation())),
            }
        }
        if known.is_none() {
            select.expr_as(
                Expr::SubQuery(None, Box::new(counted.into_sub_query_statement())),
                Alias::new("__total"),
            );
        }
    }
    for (expr, order) in plan.order_exprs(&scope) {
        select.order_by_expr(expr, order);
    }
    select.limit(budget.cap(plan.limit + 1));
    let rows = db.query_all(&select).await?;
    // The page's extra row only tells whether there is more: not counted.
    budget.spend(rows.len().min(plan.limit))?;
    let total = match rows.first() {
        _ if known.is_some() => known,
        Some(row) if count_here => Some(row.try_get::<i64>("", "__total")?),
        // Without a cursor, no row at all means nothing matches.
        None if count_here => Some(0),
        _ => None,
    };
    if let (Some((key, generation)), Some(total)) = (remember, total) {
        db.counts().put(key, generation, total);
    }
    let edges = decode_rows::<R>(rows, &plan, columns, Parent::None)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let page = finish_page(edges, &plan);
    let count = CountSource::Root {
        filter: args.filter,
        viewer,
        known: total,
        _r: PhantomData,
    };
    Ok(Connection::new(Arc::new(page), count))
}

/// Fetches the pages of a to-many relation for many parents in one statement (two when a
/// parent has more rows than the pages hold).
pub async fn fetch_children<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    parent_col: &'static str,
    parents: &[Uuid],
    args: &Args<R>,
    columns: ColumnSet,
    limits: PageLimits,
    budget: &RowBudget,
) -> Result<HashMap<Uuid, Page<R>>, AppError> {
    let plan = plan(R::table().name(), args, limits)?;
    let scope = Scope::root(db.get_database_backend(), viewer);
    let parent_filter = Condition::all().add(scope.col(parent_col).is_in(parents.iter().copied()));
    let mut inner = base_select::<R>(
        &plan,
        args.filter.as_deref(),
        columns,
        parent_filter,
        &scope,
        Reach::Ids,
    )?;
    inner.expr_as(scope.col(parent_col), Alias::new("__parent"));
    if let Some(pages) = capped_pages::<R>(
        db, &scope, &inner, parent_col, parents, &plan, columns, budget,
    )
    .await?
    {
        return Ok(pages);
    }
    let mut window =
        WindowStatement::partition_by((Alias::new(&scope.alias), Alias::new(parent_col)));
    for (expr, order) in plan.order_exprs(&scope) {
        window.order_by_expr(expr, order);
    }
    inner.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("__rn"));
    // No ORDER BY: each parent's rows are put in the page's order by their row numbers here
    // (sorting them again in SQL cost SQLite a temporary B-tree, twice the statement's time).
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("w"))
        .and_where(Expr::col((Alias::new("w"), Alias::new("__rn"))).lte(plan.limit as i64 + 1))
        .limit(budget.cap(usize::MAX))
        .to_owned();
    let rows = db.query_all(&outer).await?;
    budget.spend(rows.len())?;
    let mut numbered: HashMap<Uuid, Vec<(i64, Edge<R>)>> = HashMap::with_capacity(parents.len());
    for (parent, edge) in decode_rows::<R>(rows, &plan, columns, Parent::IdAndNumber)? {
        if let Some((parent, number)) = parent {
            numbered.entry(parent).or_default().push((number, edge));
        }
    }
    let grouped = numbered
        .into_iter()
        .map(|(parent, mut rows)| {
            rows.sort_unstable_by_key(|(number, _)| *number);
            (parent, rows.into_iter().map(|(_, edge)| edge).collect())
        })
        .collect();
    Ok(pages_of_parents(parents, grouped, &plan))
}

/// The pages of a relation level from one statement capped at what the pages can hold plus
/// one row: fewer rows than that means every matching row is there, and each parent's page is
/// its first rows in page order; as many (`None`) means some parent has more rows than the
/// pages need, and [`fetch_children`] runs its window statement after all (the window costs
/// both databases much more than the same rows without it). Keys the server orders as the
/// database does (all but text, whose order is the database's collation) are sorted here, per
/// parent, and the statement has no ORDER BY either; a capped statement without an order is
/// still complete when it was not cut.
async fn capped_pages<R: Listable>(
    db: &Reader,
    scope: &Scope,
    select: &SelectStatement,
    parent_col: &'static str,
    parents: &[Uuid],
    plan: &Plan<R::OrderField>,
    columns: ColumnSet,
    budget: &RowBudget,
) -> Result<Option<HashMap<Uuid, Page<R>>>, AppError> {
    let cap = parents
        .len()
        .saturating_mul(plan.limit + 1)
        .saturating_add(1);
    let sort_here = plan.sortable_here(scope.backend);
    let mut capped = select.clone();
    if !sort_here {
        capped.order_by(
            (Alias::new(&scope.alias), Alias::new(parent_col)),
            Order::Asc,
        );
        for (expr, order) in plan.order_exprs(scope) {
            capped.order_by_expr(expr, order);
        }
    }
    capped.limit(budget.cap(cap));
    let rows = db.query_all(&capped).await?;
    budget.spend(rows.len())?;
    if rows.len() >= cap {
        // Read again by the window statement.
        budget.refund(rows.len());
        return Ok(None);
    }
    let mut grouped: HashMap<Uuid, Vec<Edge<R>>> = HashMap::with_capacity(parents.len());
    for (parent, edge) in decode_rows::<R>(rows, plan, columns, Parent::Id)? {
        if let Some((parent, _)) = parent {
            grouped.entry(parent).or_default().push(edge);
        }
    }
    if sort_here {
        for edges in grouped.values_mut() {
            edges.sort_unstable_by(|a, b| plan.compare(a, b));
        }
    }
    Ok(Some(pages_of_parents(parents, grouped, plan)))
}

/// Every parent's page from its rows in page order, empty ones included (their pageInfo
/// still reflects the cursors).
fn pages_of_parents<R, O: SortField>(
    parents: &[Uuid],
    mut grouped: HashMap<Uuid, Vec<Edge<R>>>,
    plan: &Plan<O>,
) -> HashMap<Uuid, Page<R>> {
    parents
        .iter()
        .map(|parent| {
            let edges = grouped.remove(parent).unwrap_or_default();
            (*parent, finish_page(edges, plan))
        })
        .collect()
}

/// Counts rows per parent, for `totalCount` on relations.
pub async fn count_children<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    parent_col: &'static str,
    parents: &[Uuid],
    filter: Option<&R::Filter>,
) -> Result<HashMap<Uuid, i64>, AppError> {
    let scope = Scope::root(db.get_database_backend(), viewer);
    let select = count_select::<R>(&scope, filter, Reach::Ids)
        .expr_as(scope.col(parent_col), Alias::new("parent"))
        .and_where(scope.col(parent_col).is_in(parents.iter().copied()))
        .group_by_col((Alias::new(&scope.alias), Alias::new(parent_col)))
        .to_owned();
    let rows = db.query_all(&select).await?;
    let mut counts = HashMap::with_capacity(rows.len());
    for row in rows {
        counts.insert(
            row.try_get::<Uuid>("", "parent")?,
            row.try_get::<i64>("", "n")?,
        );
    }
    Ok(counts)
}

/// `SELECT COUNT(*) FROM <table> <scope> WHERE <filter> AND <visible>`.
pub(crate) fn count_select<R: Listable>(
    scope: &Scope,
    filter: Option<&R::Filter>,
    reach: Reach,
) -> SelectStatement {
    let condition = crate::engine::filters::list_condition(filter, scope);
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_as(Alias::new(R::table().name()), Alias::new(&scope.alias))
        .cond_where(restrict_in_reach(condition, R::table(), scope, reach))
        .to_owned()
}

pub(crate) async fn count_root<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    filter: Option<&R::Filter>,
) -> Result<i64, AppError> {
    let scope = Scope::root(db.get_database_backend(), viewer);
    let select = count_select::<R>(&scope, filter, Reach::Table);
    let key = db
        .counts()
        .enabled()
        .then(|| statement_text(&select, db.get_database_backend()));
    if let Some(total) = key.as_deref().and_then(|key| db.counts().get(key)) {
        return Ok(total);
    }
    let generation = db.counts().generation();
    let row = db.query_one(&select).await?;
    let total = match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    if let Some(key) = key {
        db.counts().put(key, generation, total);
    }
    Ok(total)
}

/// A statement's text with its values in place: what a count is kept under.
fn statement_text(select: &SelectStatement, backend: sea_orm::DbBackend) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => select.to_string(sea_orm::sea_query::PostgresQueryBuilder),
        _ => select.to_string(sea_orm::sea_query::SqliteQueryBuilder),
    }
}
