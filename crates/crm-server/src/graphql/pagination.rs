//! Relay connections over keyset pagination, one implementation for every list: root lists
//! (`clients(…)`) and to-many relations (`Client.contracts(…)`), the latter loaded for all
//! parents of a level in one statement: ordered by parent, or with `ROW_NUMBER() OVER
//! (PARTITION BY parent …)` when a parent has more rows than the pages need (see
//! [`fetch_children`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use async_graphql::{Context, Object, SimpleObject, TypeName};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Order, Query, QueryStatementBuilder,
    SelectStatement, WindowStatement,
};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::auth::policy::restrict;
use crate::error::AppError;
use crate::graphql::columns::{ColumnSet, PartialModel, select_columns};
use crate::graphql::context::loaders;
use crate::graphql::cursor::{Cursor, KeyKind, SortValue};
use crate::graphql::decode::read_at;
use crate::graphql::filters::EntityFilter;
use crate::graphql::loader::Record;
use crate::graphql::order::{NullsOrder, OrderBy, OrderDirection, SortField};
use crate::graphql::query::Scope;
use crate::graphql::reader::Reader;
use crate::graphql::rows::{Columns, RowList, RowRef};

/// A type that can be listed: its table, filter and sort fields.
pub trait Listable: Record + Columns {
    /// The GraphQL type name (`Client`), for `ClientConnection` and `ClientEdge`.
    const NAME: &'static str;
    /// The table.
    const TABLE: &'static str;
    /// Its filter input.
    type Filter: EntityFilter;
    /// Its sortable fields.
    type OrderField: SortField;
}

/// Page sizes, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Rows returned when neither `first` nor `last` is given.
    pub default_size: usize,
    /// Largest `first` / `last` accepted.
    pub max_size: usize,
    /// Rows one request may read from lists and relation pages.
    pub max_rows: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            default_size: 20,
            max_size: 100,
            max_rows: 10_000,
        }
    }
}

/// What is left of the rows one request may read from lists and relation pages
/// (`CRM_MAX_ROWS`): nested lists multiply (100 clients, each 100 contracts, each 100
/// payments), and every row read is held until the answer is written. Each statement is capped
/// at what is left plus one row, so going over costs one row, never a level's worth.
#[derive(Debug)]
pub struct RowBudget {
    left: AtomicUsize,
    max: usize,
}

impl RowBudget {
    pub fn new(max: usize) -> Self {
        RowBudget {
            left: AtomicUsize::new(max),
            max,
        }
    }

    /// The `LIMIT` of a statement that wants `rows`: at most what is left plus one, the row
    /// that tells the request is over budget.
    fn cap(&self, rows: usize) -> u64 {
        rows.min(self.left.load(AtomicOrdering::Relaxed).saturating_add(1)) as u64
    }

    /// Counts `rows` read; `BAD_USER_INPUT` when that is more than what was left.
    fn spend(&self, rows: usize) -> Result<(), AppError> {
        self.left
            .fetch_update(AtomicOrdering::Relaxed, AtomicOrdering::Relaxed, |left| {
                left.checked_sub(rows)
            })
            .map(|_| ())
            .map_err(|_| {
                AppError::bad_input(
                    "first",
                    format!(
                        "the request reads more than {} rows from its lists (CRM_MAX_ROWS): ask \
                         for smaller pages or fewer nested lists",
                        self.max
                    ),
                )
            })
    }

    /// Gives back rows counted for a statement whose rows are read again.
    fn refund(&self, rows: usize) {
        self.left.fetch_add(rows, AtomicOrdering::Relaxed);
    }
}

/// The arguments of a list field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListArgs<F, O: SortField> {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    /// Behind a pointer: see [`Shared`].
    pub filter: Option<Arc<F>>,
    pub order_by: Option<Vec<OrderBy<O>>>,
}

/// A filter argument kept behind a shared pointer, with the GraphQL type of the value itself. A
/// filter input is 2-3 KB; held inline, it made every future that carries list arguments (the
/// resolvers' and the loaders') that large, and async-graphql copies each field's future into
/// its box: those copies were a fifth of the instructions of a by-id request. Its size is
/// checked before it is parsed ([`filters::check_size`](crate::graphql::filters::check_size)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shared<T>(pub Arc<T>);

impl<T: async_graphql::InputType> async_graphql::InputType for Shared<T> {
    type RawValueType = T::RawValueType;

    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        T::create_type_info(registry)
    }

    fn parse(value: Option<async_graphql::Value>) -> async_graphql::InputValueResult<Self> {
        if let Some(value) = &value {
            crate::graphql::filters::check_size(value)
                .map_err(async_graphql::InputValueError::custom)?;
        }
        T::parse(value)
            .map(|value| Shared(Arc::new(value)))
            .map_err(async_graphql::InputValueError::propagate)
    }

    fn to_value(&self) -> async_graphql::Value {
        self.0.to_value()
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }
}

/// The arguments of a list of `R`.
pub type Args<R> = ListArgs<<R as Listable>::Filter, <R as Listable>::OrderField>;

/// The arguments of a relation list, shared by the keys of every parent and hashed once: a
/// level's loads hash their key several times per parent (batch, groups, answers), and the
/// arguments (filters, sort keys) are the costly part.
pub type SharedArgs<R> = Arc<Prehashed<Args<R>>>;

/// A value with its hash worked out once.
#[derive(Debug)]
pub struct Prehashed<T> {
    hash: u64,
    value: T,
}

impl<T: Hash> Prehashed<T> {
    pub fn new(value: T) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        value.hash(&mut hasher);
        Prehashed {
            hash: hasher.finish(),
            value,
        }
    }
}

impl<T> std::ops::Deref for Prehashed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Prehashed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.value == other.value
    }
}
impl<T: Eq> Eq for Prehashed<T> {}
impl<T> Hash for Prehashed<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Checked arguments: what to fetch.
struct Plan<O: SortField> {
    limit: usize,
    backward: bool,
    order: Vec<OrderBy<O>>,
    signature: Arc<str>,
    after: Option<Cursor>,
    before: Option<Cursor>,
}

/// Sort keys one list accepts (more could not change the order: ids are unique).
pub const MAX_SORT_KEYS: usize = 8;

/// Checks the arguments of a list of the table `list`: its cursors must have been made for
/// that table (root list or relation pages alike) and for the same ordering.
fn plan<F, O: SortField>(
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
struct Key {
    expr: Expr,
    desc: bool,
    nulls_first: bool,
    nullable: bool,
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
    fn order_exprs(&self, scope: &Scope) -> Vec<(Expr, Order)> {
        self.ordering(self.keys(scope))
    }

    /// Whether [`Plan::compare`] orders rows of `backend` as the statement would: no text key
    /// (collations), no timestamp on SQLite (stored as text).
    fn sortable_here(&self, backend: sea_orm::DbBackend) -> bool {
        self.order.iter().all(|o| match o.field.kind() {
            KeyKind::Text => false,
            KeyKind::Timestamp => backend != sea_orm::DbBackend::Sqlite,
            _ => true,
        })
    }

    /// The order of two rows in the order rows are fetched (that of [`Plan::order_exprs`]):
    /// each key with its direction and its nulls, then the id; reversed for `last`.
    fn compare<R: Record>(&self, a: &Edge<R>, b: &Edge<R>) -> std::cmp::Ordering {
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
        if self.order.iter().any(|o| o.field.name() == "id") {
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
        values.push(Some(crate::graphql::cursor::SqlKey::Value(
            cursor.id.into(),
        )));
        let keys = self.keys(scope);
        let mut any = Condition::any();
        for i in 0..keys.len() {
            let mut all = Condition::all();
            for (key, value) in keys.iter().zip(&values).take(i) {
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
            let strictly = match &values[i] {
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
            return Ok(Condition::all());
        }
        Ok(any)
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

fn clone_key(key: &crate::graphql::cursor::SqlKey) -> crate::graphql::cursor::SqlKey {
    match key {
        crate::graphql::cursor::SqlKey::Value(v) => {
            crate::graphql::cursor::SqlKey::Value(v.clone())
        }
        crate::graphql::cursor::SqlKey::Expr(e) => crate::graphql::cursor::SqlKey::Expr(e.clone()),
    }
}

/// `SELECT <columns>, <sort keys> FROM <table> t0 WHERE <filter> AND <cursor>`.
fn base_select<R: Listable>(
    plan: &Plan<R::OrderField>,
    filter: Option<&R::Filter>,
    columns: ColumnSet,
    extra: Condition,
    scope: &Scope,
) -> Result<SelectStatement, AppError> {
    let mut select = Query::select();
    let table = Alias::new(&scope.alias);
    let names = <<R::Entity as EntityTrait>::Model as PartialModel>::COLUMNS;
    select_columns(&mut select, &table, names, columns);
    select.from_as(Alias::new(R::TABLE), Alias::new(&scope.alias));
    for (i, o) in plan.order.iter().enumerate() {
        select.expr_as(o.field.expr(scope), Alias::new(format!("__k{i}")));
    }
    let mut condition = extra.add(plan.conditions(scope)?);
    if let Some(filter) = filter {
        condition = condition.add(filter.condition(scope));
    }
    select.cond_where(restrict(condition, R::TABLE, scope));
    Ok(select)
}

/// One row of a page, with its sort values (for its cursor).
#[derive(Clone)]
pub struct Edge<R> {
    node: R,
    keys: Vec<SortValue>,
    order: Arc<str>,
}

/// A page of rows: what one list field returns before it becomes a connection.
pub struct Page<R> {
    edges: Vec<Edge<R>>,
    has_next_page: bool,
    has_previous_page: bool,
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
        let model = crate::graphql::columns::decode::<Model<R>>(&row, selected, 0)?;
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
/// uncorrelated subquery, run once): one round trip instead of two. (`COUNT(*) OVER ()` was
/// tried: it forces every match to be read and sorted, and the benchmark's filter got slower.)
pub async fn fetch_page<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    args: Args<R>,
    columns: ColumnSet,
    limits: PageLimits,
    budget: &RowBudget,
    count: bool,
) -> Result<Connection<R>, AppError> {
    let plan = plan(R::TABLE, &args, limits)?;
    let scope = Scope::root(db.get_database_backend(), viewer);
    let mut select = base_select::<R>(
        &plan,
        args.filter.as_deref(),
        columns,
        Condition::all(),
        &scope,
    )?;
    let count_here = count && plan.after.is_none() && plan.before.is_none();
    if count_here {
        let counted = count_select::<R>(&scope.child(), args.filter.as_deref());
        select.expr_as(
            Expr::SubQuery(None, Box::new(counted.into_sub_query_statement())),
            Alias::new("__total"),
        );
    }
    for (expr, order) in plan.order_exprs(&scope) {
        select.order_by_expr(expr, order);
    }
    select.limit(budget.cap(plan.limit + 1));
    let rows = db.query_all(&select).await?;
    // The page's extra row only tells whether there is more: not counted.
    budget.spend(rows.len().min(plan.limit))?;
    let total = match rows.first() {
        Some(row) if count_here => Some(row.try_get::<i64>("", "__total")?),
        // Without a cursor, no row at all means nothing matches.
        None if count_here => Some(0),
        _ => None,
    };
    let edges = decode_rows::<R>(rows, &plan, columns, Parent::None)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let page = finish_page(edges, &plan);
    let count = match total {
        Some(total) => CountSource::Known(total),
        None => CountSource::Root {
            filter: args.filter,
            viewer,
            _r: PhantomData,
        },
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
    let plan = plan(R::TABLE, args, limits)?;
    let scope = Scope::root(db.get_database_backend(), viewer);
    let parent_filter = Condition::all().add(scope.col(parent_col).is_in(parents.iter().copied()));
    let mut inner = base_select::<R>(
        &plan,
        args.filter.as_deref(),
        columns,
        parent_filter,
        &scope,
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
/// pages need, and [`fetch_children`] runs its window statement after all. The window costs:
/// on the nested page's payments SQLite took twice the time of the same rows without it,
/// PostgreSQL a sixth more. Keys the server orders as the database does (all but text, whose
/// order is the database's collation) are sorted here, per parent, and the statement has no
/// ORDER BY either (PostgreSQL: 2,550 → 3,200 statements a second for those payments); a
/// capped statement without an order is still complete when it was not cut.
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
    let select = count_select::<R>(&scope, filter)
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

/// Where `totalCount` comes from, computed only when asked.
pub enum CountSource<R: Listable> {
    /// Counted with the page.
    Known(i64),
    Root {
        filter: Option<Arc<R::Filter>>,
        viewer: Viewer,
        _r: PhantomData<fn() -> R>,
    },
    Relation {
        parent_col: &'static str,
        parent: Uuid,
        filter: Option<Arc<R::Filter>>,
    },
}

/// A page of `R` with Relay's `edges`, `nodes`, `pageInfo` and `totalCount`.
pub struct Connection<R: Listable> {
    page: Arc<Page<R>>,
    count: CountSource<R>,
}

impl<R: Listable> Connection<R> {
    fn new(page: Arc<Page<R>>, count: CountSource<R>) -> Self {
        Connection { page, count }
    }

    /// The connection of a relation page already loaded.
    pub fn of_relation(
        page: Arc<Page<R>>,
        filter: Option<Arc<R::Filter>>,
        parent_col: &'static str,
        parent: Uuid,
    ) -> Self {
        Connection::new(
            page,
            CountSource::Relation {
                parent_col,
                parent,
                filter,
            },
        )
    }
}

impl<R: Record> Edge<R> {
    fn encode_cursor(&self) -> String {
        Cursor {
            order: self.order.to_string(),
            keys: self.keys.iter().map(SortValue::to_wire).collect(),
            id: self.node.id(),
        }
        .encode()
    }
}

/// Where a page sits in the whole list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// More rows follow this page.
    pub has_next_page: bool,
    /// Rows come before this page.
    pub has_previous_page: bool,
    /// Cursor of the first row of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last row of the page.
    pub end_cursor: Option<String>,
}

impl<R: Listable> TypeName for Connection<R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", R::NAME).into()
    }
}

impl<R: Listable> TypeName for Edge<R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", R::NAME).into()
    }
}

/// A page of a list (Relay connection).
#[Object(name_type, serial)]
impl<R: Listable> Connection<R> {
    /// The rows of the page with their cursors.
    async fn edges(&self) -> &[Edge<R>] {
        &self.page.edges
    }

    /// The rows of the page.
    async fn nodes(&self) -> RowList<'_, R> {
        RowList(self.page.nodes().collect())
    }

    /// Where the page sits in the whole list.
    async fn page_info(&self) -> PageInfo {
        // Cursors are encoded only when asked for.
        PageInfo {
            has_next_page: self.page.has_next_page,
            has_previous_page: self.page.has_previous_page,
            start_cursor: self.page.edges.first().map(Edge::encode_cursor),
            end_cursor: self.page.edges.last().map(Edge::encode_cursor),
        }
    }

    /// How many rows match the filter, across all pages (counted only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match &self.count {
            CountSource::Known(total) => Ok(*total),
            CountSource::Root { filter, viewer, .. } => {
                Ok(count_root::<R>(loaders(ctx)?.reader(), *viewer, filter.as_deref()).await?)
            }
            CountSource::Relation {
                parent_col,
                parent,
                filter,
            } => Ok(loaders(ctx)?
                .count_children::<R>(parent_col, *parent, filter.clone())
                .await?),
        }
    }
}

/// `SELECT COUNT(*) FROM <table> <scope> WHERE <filter> AND <visible>`.
fn count_select<R: Listable>(scope: &Scope, filter: Option<&R::Filter>) -> SelectStatement {
    let mut condition = Condition::all();
    if let Some(filter) = filter {
        condition = condition.add(filter.condition(scope));
    }
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_as(Alias::new(R::TABLE), Alias::new(&scope.alias))
        .cond_where(restrict(condition, R::TABLE, scope))
        .to_owned()
}

async fn count_root<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    filter: Option<&R::Filter>,
) -> Result<i64, AppError> {
    let scope = Scope::root(db.get_database_backend(), viewer);
    let select = count_select::<R>(&scope, filter);
    let row = db.query_one(&select).await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// One row of a page.
#[Object(name_type, serial)]
impl<R: Listable> Edge<R> {
    /// The row.
    async fn node(&self) -> RowRef<'_, R> {
        RowRef(&self.node)
    }

    /// Opaque cursor of the row, for `after` / `before`.
    async fn cursor(&self) -> String {
        self.encode_cursor()
    }
}

/// Keys that group relation loads: the same relation and arguments share one statement.
pub struct ChildrenKey<R: Listable> {
    pub parent_col: &'static str,
    pub parent: Uuid,
    pub args: SharedArgs<R>,
    /// The columns the selection reads (aliases of one relation may select differently).
    pub columns: ColumnSet,
}

impl<R: Listable> Clone for ChildrenKey<R> {
    fn clone(&self) -> Self {
        ChildrenKey {
            parent_col: self.parent_col,
            parent: self.parent,
            args: self.args.clone(),
            columns: self.columns,
        }
    }
}
impl<R: Listable> PartialEq for ChildrenKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.parent_col == other.parent_col
            && self.parent == other.parent
            && (Arc::ptr_eq(&self.args, &other.args) || self.args == other.args)
            && self.columns == other.columns
    }
}
impl<R: Listable> Eq for ChildrenKey<R> {}
impl<R: Listable> Hash for ChildrenKey<R> {
    /// The parent and the arguments' own hash: two words to hash per key instead of four
    /// fields' bytes (keys of one level differ by parent; equal keys still hash alike).
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (high, low) = self.parent.as_u64_pair();
        state.write_u64(high ^ low);
        self.args.hash(state);
    }
}

/// Keys for relation `totalCount`s.
pub struct CountKey<R: Listable> {
    pub parent_col: &'static str,
    pub parent: Uuid,
    pub filter: Option<Arc<R::Filter>>,
}

impl<R: Listable> Clone for CountKey<R> {
    fn clone(&self) -> Self {
        CountKey {
            parent_col: self.parent_col,
            parent: self.parent,
            filter: self.filter.clone(),
        }
    }
}
impl<R: Listable> PartialEq for CountKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.parent_col == other.parent_col
            && self.parent == other.parent
            && self.filter == other.filter
    }
}
impl<R: Listable> Eq for CountKey<R> {}
impl<R: Listable> Hash for CountKey<R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parent_col.hash(state);
        self.parent.hash(state);
        self.filter.hash(state);
    }
}

/// Writes a type's `#[ComplexObject]` impl whose to-many relations are connection fields with
/// the standard list arguments (`first after last before filter orderBy`), each loaded for
/// the whole level by [`crate::graphql::loader::Loaders::children`]. Other relation and
/// computed fields follow the list, verbatim.
///
/// ```ignore
/// relation_lists! {
///     impl Client {
///         /// The client's contracts.
///         contracts: Contract by "client_id";
///     }
///     /* other #[ComplexObject] methods */
/// }
/// ```
#[macro_export]
macro_rules! relation_lists {
    (
        impl $ty:ident {
            $( $(#[doc = $doc:literal])* $field:ident: $target:ident by $col:literal; )*
        }
        $($rest:tt)*
    ) => {
        #[async_graphql::ComplexObject]
        impl $ty {
            $(
                $(#[doc = $doc])*
                async fn $field(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
                    #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
                    #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
                    #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
                    #[graphql(desc = "Only rows matching this filter.")]
                    filter: Option<$crate::graphql::pagination::Shared<<$target as $crate::graphql::pagination::Listable>::Filter>>,
                    #[graphql(desc = "Sort keys, applied in order (then by id).")]
                    order_by: Option<Vec<$crate::graphql::order::OrderBy<<$target as $crate::graphql::pagination::Listable>::OrderField>>>,
                ) -> async_graphql::Result<$crate::graphql::pagination::Connection<$target>> {
                    let filter = filter.map(|f| f.0);
                    let args = $crate::graphql::pagination::ListArgs { first, after, last, before, filter, order_by };
                    let columns = $crate::graphql::columns::selected::<$target>(ctx);
                    Ok($crate::graphql::context::loaders(ctx)?.children::<$target>($col, self.id, args, columns).await?)
                }
            )*
            $($rest)*
        }

        impl $crate::graphql::rows::ListRelations for $ty {
            fn list_relation(name: &str) -> Option<$crate::graphql::rows::ListHandler<Self>> {
                $(
                    if $crate::graphql::rows::is_graphql_name(stringify!($field), name) {
                        return Some(|ctx, field, rows, indexed| {
                            Box::pin($crate::graphql::rows::resolve_list_relation::<$ty, $target>(
                                ctx, field, rows, indexed, $col,
                            ))
                        });
                    }
                )*
                None
            }
        }
    };
}

/// Writes a type's root query object: `<one>(id:)` (null when missing) and `<many>(…)`, a
/// connection with the standard list arguments.
#[macro_export]
macro_rules! root_queries {
    (
        $(#[doc = $query_doc:literal])*
        $query:ident for $ty:ident {
            $(#[doc = $one_doc:literal])* $one:ident($id_desc:literal);
            $(#[doc = $many_doc:literal])* $many:ident;
        }
    ) => {
        $(#[doc = $query_doc])*
        #[derive(Default)]
        pub struct $query;

        #[async_graphql::Object]
        impl $query {
            $(#[doc = $one_doc])*
            async fn $one(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = $id_desc)] id: uuid::Uuid,
            ) -> async_graphql::Result<Option<$ty>> {
                Ok($crate::graphql::context::loaders(ctx)?.one::<$ty>(ctx, id).await?)
            }

            $(#[doc = $many_doc])*
            async fn $many(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "Return the first n rows (default 20).")] first: Option<i32>,
                #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
                #[graphql(desc = "Return the last n rows.")] last: Option<i32>,
                #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
                #[graphql(desc = "Only rows matching this filter.")]
                filter: Option<$crate::graphql::pagination::Shared<<$ty as $crate::graphql::pagination::Listable>::Filter>>,
                #[graphql(desc = "Sort keys, applied in order (then by id).")]
                order_by: Option<Vec<$crate::graphql::order::OrderBy<<$ty as $crate::graphql::pagination::Listable>::OrderField>>>,
            ) -> async_graphql::Result<$crate::graphql::pagination::Connection<$ty>> {
                let filter = filter.map(|f| f.0);
                let args = $crate::graphql::pagination::ListArgs { first, after, last, before, filter, order_by };
                // Counted in the page's own statement when the query asks for it.
                let count = ctx.look_ahead().field("totalCount").exists();
                let columns = $crate::graphql::columns::selected::<$ty>(ctx);
                Ok($crate::graphql::context::loaders(ctx)?.list::<$ty>(args, columns, count).await?)
            }
        }
    };
}
