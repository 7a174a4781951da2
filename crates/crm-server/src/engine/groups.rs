//! `…Groups` on the root lists: the rows the filter and the viewer's access admit, grouped by
//! one or more keys (columns, a to-one relation's columns, dates cut to periods in a time zone),
//! each group with its typed keys and its figures (the table's `…Aggregate`), `having` on
//! figures, ordered by keys or figures, paged with `first` / `after` (top-N, then the next N).
//!
//! One statement: the figures grouped (the same `SELECT` as `aggregate`'s, see
//! [`crate::engine::aggregate::statement`]) wrapped in one that filters, orders and cuts the
//! groups by their columns. Groupings of a table with amounts (contracts, payments) are always
//! split by currency too (`keys.currency`): amounts of different currencies are never added
//! together, and what a group is does not depend on the figures selected.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, OutputType, SelectionField, TypeName};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};

use crate::engine::access::{Reach, Viewer};
use crate::engine::aggregate::{
    AggregateType, Figures, Func, Kind, Layout, Measures, finish, read_row, requested, statement,
};
use crate::engine::budget::PageLimits;
use crate::engine::cursor::{KeyKind, SortValue, SqlKey};
use crate::engine::decode::read_at;
use crate::engine::forward::{
    ForwardConnection, ForwardNode, decode_cursor, encode_cursor, invalid_cursor,
};
use crate::engine::keyset::{Key, past};
use crate::engine::periods::{AgingBucket, Period, Zone, aging_key, date_key, timestamp_key};
use crate::engine::reader::Reader;
use crate::engine::record::Listable;
use crate::engine::scope::Scope;
use crate::error::AppError;

/// Keys one grouping accepts.
pub const MAX_GROUP_KEYS: usize = 4;

/// Where a group key's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// A column of the table.
    Column(&'static str),
    /// A column of the parent row the table's `key` points to (a payment's client's status).
    Parent {
        table: &'static str,
        key: &'static str,
        column: &'static str,
    },
    /// A date column, cut to a period (the day by default).
    Date(&'static str),
    /// A timestamp column, read in the grouping's time zone and cut to a period (the day by
    /// default).
    Timestamp(&'static str),
    /// A date column's age as of today in the grouping's time zone, in
    /// [`AgingBucket`]s (computed: receivables' aging).
    Aging(&'static str),
}

/// How a key is cut: dates to a period, ages as of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// Dates and timestamps: the period (the day by default).
    pub period: Option<Period>,
    /// Ages: the day they are counted from (today in the grouping's time zone by default).
    pub as_of: Option<chrono::NaiveDate>,
}

/// A group key field (`PaymentGroupField`), written by [`aggregates!`](crate::aggregates).
pub trait GroupField: async_graphql::InputType + Copy + Eq + Send + Sync + 'static {
    fn source(self) -> KeySource;
    /// The GraphQL name of the value (for cursors and errors).
    fn name(self) -> &'static str;
    /// The kind of its values (for cursors).
    fn kind(self) -> KeyKind;
}

/// A group's keys object (`PaymentGroupKeys`), written by [`aggregates!`](crate::aggregates).
pub trait GroupKeys: OutputType + Default + Send + Sync + 'static {
    type Field: GroupField;
    /// Reads the key `field` at `index` of `row` into its field; returns its sort value.
    fn read(
        &mut self,
        field: Self::Field,
        row: &QueryResult,
        index: usize,
    ) -> Result<SortValue, AppError>;
    /// Sets the currency of a group split by currency.
    fn set_currency(&mut self, currency: Option<String>);
}

/// A table's groupings: its key fields, keys object and grouping inputs (written by
/// [`aggregates!`](crate::aggregates)).
pub trait Grouping: AggregateType {
    type Field: GroupField;
    type Keys: GroupKeys<Field = Self::Field>;
    /// `…GroupBy`: a key and its period.
    type By: async_graphql::InputType;
    /// `…GroupCondition`: a `having` entry.
    type Having: async_graphql::InputType;
    /// `…GroupOrder`: a sort key of groups.
    type Order: async_graphql::InputType;
    fn key(by: &Self::By) -> (Self::Field, KeyOptions);
    fn having(having: &Self::Having) -> Result<Having, AppError>;
    fn order(order: &Self::Order) -> Result<(GroupOrderBy<Self::Field>, bool), AppError>;
}

/// The comparisons of a `having` entry (`eq`, `gt`, `gte`, `lt`, `lte`), at least one.
pub fn comparisons(
    measure: Measure,
    values: [(Comparison, Option<crate::engine::scalars::Decimal>); 5],
) -> Result<Having, AppError> {
    let tests: Vec<(Comparison, Decimal)> = values
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v.0)))
        .collect();
    if tests.is_empty() {
        return Err(AppError::bad_input(
            "having",
            "give a comparison (`eq`, `gt`, `gte`, `lt` or `lte`)",
        ));
    }
    // Far beyond any sum of amounts (and exact as cents on both backends).
    let bound = Decimal::from(10u64.pow(18));
    if tests.iter().any(|(_, v)| v.abs() > bound) {
        return Err(AppError::bad_input(
            "having",
            "compare with values between -10^18 and 10^18",
        ));
    }
    Ok(Having { measure, tests })
}

/// A sort key of groups from its input: a key grouped by or a measure, not both.
pub fn group_order<F>(
    key: Option<F>,
    measure: Option<Result<Measure, AppError>>,
    direction: crate::engine::order::OrderDirection,
) -> Result<(GroupOrderBy<F>, bool), AppError> {
    let desc = direction == crate::engine::order::OrderDirection::Desc;
    match (key, measure) {
        (Some(key), None) => Ok((GroupOrderBy::Key(key), desc)),
        (None, Some(measure)) => Ok((GroupOrderBy::Measure(measure?), desc)),
        _ => Err(AppError::bad_input(
            "orderBy",
            "give either `key` or `measure` in each sort key",
        )),
    }
}

/// `…Groups(by, filter, having, orderBy, first, after, timeZone)` of a root list.
#[allow(clippy::too_many_arguments)]
pub async fn root_groups<R: Listable>(
    ctx: &Context<'_>,
    by: Vec<<R::Aggregate as Grouping>::By>,
    filter: Option<Arc<R::Filter>>,
    having: Option<Vec<<R::Aggregate as Grouping>::Having>>,
    order_by: Option<Vec<<R::Aggregate as Grouping>::Order>>,
    first: Option<i32>,
    after: Option<String>,
    time_zone: Option<String>,
) -> Result<GroupConnection<R>, AppError> {
    let loaders = crate::engine::loaders(ctx)?;
    let viewer = loaders.viewer()?;
    let limits = loaders.limits();
    let having = having
        .unwrap_or_default()
        .iter()
        .map(<R::Aggregate as Grouping>::having)
        .collect::<Result<Vec<_>, _>>()?;
    let order = order_by
        .unwrap_or_default()
        .iter()
        .map(<R::Aggregate as Grouping>::order)
        .collect::<Result<Vec<_>, _>>()?;
    if order.len() > crate::engine::MAX_SORT_KEYS {
        return Err(AppError::bad_input(
            "orderBy",
            format!(
                "`orderBy` takes at most {} sort keys",
                crate::engine::MAX_SORT_KEYS
            ),
        ));
    }
    if having.len() > crate::engine::MAX_SORT_KEYS {
        return Err(AppError::bad_input(
            "having",
            format!(
                "`having` takes at most {} conditions",
                crate::engine::MAX_SORT_KEYS
            ),
        ));
    }
    let args = GroupArgs {
        by: by.iter().map(<R::Aggregate as Grouping>::key).collect(),
        filter,
        having,
        order,
        first,
        after,
        time_zone,
    };
    fetch_groups(ctx, loaders.reader(), viewer, limits, args).await
}

/// A value a group key holds.
pub trait GroupKeyValue: Sized {
    const KIND: KeyKind;
    fn read(row: &QueryResult, index: usize) -> Result<Option<Self>, AppError>;
    fn sort_value(&self) -> SortValue;
}

macro_rules! stored_key {
    ($($ty:ty => $kind:ident $wrap:expr),* $(,)?) => {$(
        impl GroupKeyValue for $ty {
            const KIND: KeyKind = KeyKind::$kind;
            fn read(row: &QueryResult, index: usize) -> Result<Option<Self>, AppError> {
                Ok(read_at::<Option<$ty>>(row, index)?)
            }
            fn sort_value(&self) -> SortValue {
                let wrap: fn(&$ty) -> SortValue = $wrap;
                wrap(self)
            }
        }
    )*};
}
stored_key!(
    String => Text |v| SortValue::Text(v.clone()),
    uuid::Uuid => Uuid |v| SortValue::Uuid(*v),
    bool => Bool |v| SortValue::Bool(*v),
);

macro_rules! enum_key {
    ($($ty:ty),* $(,)?) => {$(
        impl GroupKeyValue for $ty {
            const KIND: KeyKind = KeyKind::Text;
            fn read(row: &QueryResult, index: usize) -> Result<Option<Self>, AppError> {
                Ok(read_at::<Option<$ty>>(row, index)?)
            }
            fn sort_value(&self) -> SortValue {
                SortValue::Text(sea_orm::ActiveEnum::to_value(self))
            }
        }
    )*};
}
enum_key!(
    entity::ClientStatus,
    entity::ContractStatus,
    entity::PaymentStatus,
    entity::Role,
);

impl GroupKeyValue for AgingBucket {
    const KIND: KeyKind = KeyKind::Int;
    fn read(row: &QueryResult, index: usize) -> Result<Option<Self>, AppError> {
        read_at::<Option<i64>>(row, index)?
            .map(|rank| {
                AgingBucket::from_rank(rank)
                    .ok_or_else(|| AppError::Internal(format!("aging bucket {rank} unknown")))
            })
            .transpose()
    }
    fn sort_value(&self) -> SortValue {
        SortValue::Int(self.rank())
    }
}

impl GroupKeyValue for crate::engine::scalars::Date {
    const KIND: KeyKind = KeyKind::Date;
    fn read(row: &QueryResult, index: usize) -> Result<Option<Self>, AppError> {
        Ok(read_at::<Option<chrono::NaiveDate>>(row, index)?.map(crate::engine::scalars::Date))
    }
    fn sort_value(&self) -> SortValue {
        SortValue::Date(self.0)
    }
}

/// An aggregate function of a grouping's `having` or `orderBy`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFunction {
    /// The number of rows (no field).
    Count,
    /// The sum of the field.
    Sum,
    /// The exact average of the field (`having` only).
    Avg,
    /// The smallest value of the field.
    Min,
    /// The largest value of the field.
    Max,
}

/// A figure of each group, for `having` and `orderBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub function: AggregateFunction,
    /// The amount or number (none for `COUNT`).
    pub field: Option<(Kind, &'static str)>,
}

impl Measure {
    /// The measure given by `function` and the fields of a `…GroupMeasure` input, checked:
    /// `COUNT` takes no field, the others exactly one.
    pub fn new(
        function: AggregateFunction,
        fields: &[Option<(Kind, &'static str)>],
        argument: &str,
    ) -> Result<Measure, AppError> {
        let given: Vec<(Kind, &'static str)> = fields.iter().flatten().copied().collect();
        match (function, given.as_slice()) {
            (AggregateFunction::Count, []) => Ok(Measure {
                function,
                field: None,
            }),
            (AggregateFunction::Count, _) => Err(AppError::bad_input(
                argument,
                "COUNT counts the group's rows: give it no field",
            )),
            (_, [field]) => Ok(Measure {
                function,
                field: Some(*field),
            }),
            _ => Err(AppError::bad_input(
                argument,
                "give exactly one field (`money` or `number`) to this function",
            )),
        }
    }

    /// The figures the measure reads.
    fn figures(self) -> Vec<(Kind, &'static str, Func)> {
        let Some((kind, column)) = self.field else {
            return Vec::new();
        };
        let funcs: &[Func] = match (self.function, kind) {
            (AggregateFunction::Count, _) => &[],
            (AggregateFunction::Sum, _) => &[Func::Sum],
            (AggregateFunction::Avg, Kind::Money) => &[Func::Sum],
            (AggregateFunction::Avg, _) => &[Func::Sum, Func::Count],
            (AggregateFunction::Min, _) => &[Func::Min],
            (AggregateFunction::Max, _) => &[Func::Max],
        };
        funcs.iter().map(|f| (kind, column, *f)).collect()
    }
}

/// A comparison of `having`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One condition of `having`: a measure and the comparisons it must pass.
#[derive(Debug, Clone)]
pub struct Having {
    pub measure: Measure,
    pub tests: Vec<(Comparison, Decimal)>,
}

/// One key of a grouping's order.
#[derive(Debug, Clone, Copy)]
pub enum GroupOrderBy<F> {
    Key(F),
    Measure(Measure),
}

/// A grouping's arguments, checked by [`fetch_groups`].
pub struct GroupArgs<R: Listable> {
    pub by: Vec<(<R::Aggregate as Grouping>::Field, KeyOptions)>,
    pub filter: Option<Arc<R::Filter>>,
    pub having: Vec<Having>,
    pub order: Vec<(GroupOrderBy<<R::Aggregate as Grouping>::Field>, bool)>,
    pub first: Option<i32>,
    pub after: Option<String>,
    pub time_zone: Option<String>,
}

/// One group: its keys and its figures.
pub struct Group<R: Listable> {
    keys: <R::Aggregate as Grouping>::Keys,
    figures: Arc<Figures>,
    cursor: String,
}

/// A page of groups (Relay connection).
pub type GroupConnection<R> = ForwardConnection<Group<R>>;

impl<R: Listable> TypeName for Group<R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Group", R::NAME).into()
    }
}

impl<R: Listable> ForwardNode for Group<R> {
    fn cursor(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.cursor)
    }
}

/// A group of rows sharing the same keys.
#[Object(name_type, serial)]
impl<R: Listable> Group<R> {
    /// The keys the group's rows share (the keys grouped by; the others are null).
    async fn keys(&self) -> &<R::Aggregate as Grouping>::Keys {
        &self.keys
    }

    /// Figures over the group's rows.
    async fn aggregate(&self) -> R::Aggregate {
        R::Aggregate::from(self.figures.clone())
    }
}

/// The figures the groups' selection (`nodes { aggregate }`, `edges { node { aggregate } }`)
/// asks for.
fn selected_measures<A: AggregateType>(
    connection: SelectionField<'_>,
) -> Result<Measures, AppError> {
    let mut measures = Measures::default();
    let mut add = |aggregate: SelectionField<'_>| -> Result<(), AppError> {
        let more = requested::<A>(aggregate)?;
        measures.distinct.extend(more.distinct);
        measures.figures.extend(more.figures);
        Ok(())
    };
    for field in connection.selection_set() {
        let groups: Vec<SelectionField<'_>> = match field.name() {
            "nodes" => vec![field],
            "edges" => field
                .selection_set()
                .filter(|f| f.name() == "node")
                .collect(),
            _ => continue,
        };
        for group in groups {
            for aggregate in group.selection_set().filter(|f| f.name() == "aggregate") {
                add(aggregate)?;
            }
        }
    }
    Ok(measures)
}

/// A column of the grouped rows (the inner statement, aliased `g`).
fn g(column: impl Into<String>) -> Expr {
    Expr::col((Alias::new("g"), Alias::new(column.into())))
}

/// The column holding figure `figure` of `measures`.
fn figure_column(measures: &Measures, figure: (Kind, &'static str, Func)) -> Option<Expr> {
    measures
        .figures
        .iter()
        .position(|f| *f == figure)
        .map(|i| g(format!("f{i}")))
}

/// A decimal to compare with a figure's column: amounts on SQLite are whole cents (a value too
/// large for that is refused: no amount is that large).
fn figure_value(value: Decimal, kind: Kind, backend: DbBackend) -> Result<Expr, AppError> {
    Ok(match (kind, backend) {
        (Kind::Money, DbBackend::Sqlite) => {
            let cents = value.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(|| {
                AppError::bad_input("having", "this amount is too large to compare with")
            })?;
            SqlKey::decimal(cents, backend).into_expr()
        }
        _ => SqlKey::decimal(value, backend).into_expr(),
    })
}

/// The condition of one `having` entry on the grouped rows.
fn having_condition(
    having: &Having,
    measures: &Measures,
    backend: DbBackend,
) -> Result<Condition, AppError> {
    let missing = || AppError::Internal("a `having` figure was not computed".to_owned());
    let mut all = Condition::all();
    for (comparison, value) in &having.tests {
        let (left, right) = match having.measure {
            Measure { field: None, .. } => (g("n"), SqlKey::decimal(*value, backend).into_expr()),
            Measure {
                function: AggregateFunction::Avg,
                field: Some((kind, column)),
            } => {
                // avg op v  ⇔  sum op v × count, when there are values (no average otherwise).
                let sum = figure_column(measures, (kind, column, Func::Sum)).ok_or_else(missing)?;
                let count = if kind == Kind::Money {
                    g("n")
                } else {
                    figure_column(measures, (kind, column, Func::Count)).ok_or_else(missing)?
                };
                all = all.add(count.clone().gt(0));
                (sum, figure_value(*value, kind, backend)?.mul(count))
            }
            Measure {
                function,
                field: Some((kind, column)),
            } => {
                let func = match function {
                    AggregateFunction::Min => Func::Min,
                    AggregateFunction::Max => Func::Max,
                    _ => Func::Sum,
                };
                let left = figure_column(measures, (kind, column, func)).ok_or_else(missing)?;
                (left, figure_value(*value, kind, backend)?)
            }
        };
        all = all.add(match comparison {
            Comparison::Eq => left.eq(right),
            Comparison::Gt => left.gt(right),
            Comparison::Gte => left.gte(right),
            Comparison::Lt => left.lt(right),
            Comparison::Lte => left.lte(right),
        });
    }
    Ok(all)
}

/// One key of the groups' order: its column, kind (for cursors), direction.
struct Sort {
    column: Expr,
    kind: KeyKind,
    desc: bool,
    nullable: bool,
}

/// The kind of a figure's column, as cursors carry it.
fn figure_kind(kind: Kind, backend: DbBackend) -> KeyKind {
    match (kind, backend) {
        (Kind::Money, DbBackend::Postgres) => KeyKind::Decimal,
        _ => KeyKind::Int,
    }
}

/// Reads a page of groups of `R`: see the module's documentation.
pub async fn fetch_groups<R: Listable>(
    ctx: &Context<'_>,
    db: &Reader,
    viewer: Viewer,
    limits: PageLimits,
    args: GroupArgs<R>,
) -> Result<GroupConnection<R>, AppError> {
    let backend = db.get_database_backend();
    // Checked arguments.
    if args.by.is_empty() || args.by.len() > MAX_GROUP_KEYS {
        return Err(AppError::bad_input(
            "by",
            format!("group by 1 to {MAX_GROUP_KEYS} keys"),
        ));
    }
    for (i, (field, options)) in args.by.iter().enumerate() {
        if args.by[..i].iter().any(|(other, _)| other == field) {
            return Err(AppError::bad_input("by", "each key may be given once"));
        }
        if options.as_of.is_some() && !matches!(field.source(), KeySource::Aging(_)) {
            return Err(AppError::bad_input(
                "by",
                format!("`{}` takes no `asOf` (only ages do)", field.name()),
            ));
        }
        let is_date = matches!(field.source(), KeySource::Date(_) | KeySource::Timestamp(_));
        if options.period.is_some() && !is_date {
            return Err(AppError::bad_input(
                "by",
                format!(
                    "`{}` takes no period (only dates and timestamps do)",
                    field.name()
                ),
            ));
        }
    }
    let limit = limits.first(args.first)?;
    let zone = match args.time_zone.as_deref() {
        Some(name) => Zone::parse(name, "timeZone")?,
        None => limits.time_zone,
    };
    // The figures: those selected, those `having` and `orderBy` compare.
    let mut measures = selected_measures::<R::Aggregate>(ctx.field())?;
    for having in &args.having {
        measures.figures.extend(having.measure.figures());
    }
    for (order, _) in &args.order {
        if let GroupOrderBy::Measure(measure) = order {
            if measure.function == AggregateFunction::Avg {
                return Err(AppError::bad_input(
                    "orderBy",
                    "groups are ordered by COUNT, SUM, MIN or MAX (AVG is for `having`)",
                ));
            }
            measures.figures.extend(measure.figures());
        }
    }
    // Groups of a table with amounts are always per currency: what a group is does not
    // depend on the figures selected.
    let by_currency = <R::Aggregate as AggregateType>::CURRENCY.is_some();

    // The grouped rows.
    let scope = Scope::root(backend, viewer);
    let keys: Vec<Expr> = args
        .by
        .iter()
        .map(|(field, options)| key_expr(&scope, field.source(), *options, zone))
        .collect();
    let inner = statement::<R>(
        &scope,
        args.filter.as_deref(),
        Condition::all(),
        Reach::Table,
        &keys,
        &measures,
        true,
    );
    let mut having = Condition::all();
    for h in &args.having {
        having = having.add(having_condition(h, &measures, backend)?);
    }

    // The order: the given keys, then every key (a group's keys identify it).
    let mut sorts = Vec::new();
    let mut signature = format!("{}:groups:{}:", R::table().name(), zone.name());
    for (field, options) in &args.by {
        signature.push_str(field.name());
        if let Some(period) = options.period {
            signature.push_str(&format!("/{period:?}"));
        }
        if let Some(day) = options.as_of {
            signature.push_str(&format!("@{day}"));
        }
        signature.push(',');
    }
    signature.push(if by_currency { '$' } else { '-' });
    for (order, desc) in &args.order {
        let sort = match order {
            GroupOrderBy::Key(field) => {
                let Some(i) = args.by.iter().position(|(f, _)| f == field) else {
                    return Err(AppError::bad_input(
                        "orderBy",
                        format!("`{}` is not one of the keys grouped by", field.name()),
                    ));
                };
                signature.push_str(&format!(";k{i}"));
                Sort {
                    column: g(format!("k{i}")),
                    kind: field.kind(),
                    desc: *desc,
                    nullable: true,
                }
            }
            GroupOrderBy::Measure(Measure { field: None, .. }) => {
                signature.push_str(";n");
                Sort {
                    column: g("n"),
                    kind: KeyKind::Int,
                    desc: *desc,
                    nullable: false,
                }
            }
            GroupOrderBy::Measure(measure) => {
                let Some(figure) = measure.figures().first().copied() else {
                    continue;
                };
                let Some(column) = figure_column(&measures, figure) else {
                    continue;
                };
                signature.push_str(&format!(";{}.{:?}", figure.1, figure.2));
                Sort {
                    column,
                    kind: figure_kind(figure.0, backend),
                    desc: *desc,
                    nullable: true,
                }
            }
        };
        if *desc {
            signature.push('d');
        }
        sorts.push(sort);
    }
    for (i, (field, _)) in args.by.iter().enumerate() {
        sorts.push(Sort {
            column: g(format!("k{i}")),
            kind: field.kind(),
            desc: false,
            nullable: true,
        });
    }
    if by_currency {
        sorts.push(Sort {
            column: g("cur"),
            kind: KeyKind::Text,
            desc: false,
            nullable: true,
        });
    }
    let sort_keys: Vec<Key> = sorts
        .iter()
        .map(|s| Key {
            expr: s.column.clone(),
            desc: s.desc,
            nulls_first: false,
            nullable: s.nullable,
        })
        .collect();

    let mut count = Query::select();
    count
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner.clone(), Alias::new("g"))
        .cond_where(having.clone());

    let mut page = Query::select();
    page.column(sea_orm::sea_query::Asterisk)
        .from_subquery(inner, Alias::new("g"))
        .cond_where(having);
    if let Some(after) = &args.after {
        let keys = decode_cursor(
            after,
            &signature,
            sorts.len(),
            "grouping",
            "the same arguments as the page it came from",
        )?;
        let mut values = Vec::with_capacity(sorts.len());
        for (sort, value) in sorts.iter().zip(&keys) {
            values.push(
                value
                    .to_sql(sort.kind, backend)
                    .map_err(|_| invalid_cursor("grouping"))?,
            );
        }
        page.cond_where(past(&sort_keys, &values, true));
    }
    for sort in &sorts {
        if sort.nullable {
            // Nulls last in either direction, on both backends.
            page.order_by_expr(sort.column.clone().is_null(), Order::Asc);
        }
        page.order_by_expr(
            sort.column.clone(),
            if sort.desc { Order::Desc } else { Order::Asc },
        );
    }
    page.limit(limit as u64 + 1);

    let rows = db.query_all(&page).await?;
    let has_next_page = rows.len() > limit;
    let layout = Layout::of::<R::Aggregate>(args.by.len(), &measures, true);
    let sqlite = backend == DbBackend::Sqlite;
    let mut groups = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        let mut keys = <R::Aggregate as Grouping>::Keys::default();
        let mut key_values = Vec::with_capacity(args.by.len() + 1);
        for (i, (field, _)) in args.by.iter().enumerate() {
            key_values.push(keys.read(*field, row, i)?);
        }
        if by_currency {
            let currency =
                read_at::<Option<String>>(row, args.by.len())?.map(|c| c.trim().to_owned());
            key_values.push(currency.clone().map_or(SortValue::Null, SortValue::Text));
            keys.set_currency(currency);
        }
        let mut figures = Figures::empty(&measures);
        read_row(row, &layout, &measures, sqlite, &mut figures)?;
        finish(&mut figures);
        // The cursor: the order's values, then the keys.
        let mut wire = Vec::with_capacity(sorts.len());
        for (sort, (order, _)) in sorts.iter().zip(&args.order) {
            let value = match order {
                GroupOrderBy::Key(field) => {
                    let i = args.by.iter().position(|(f, _)| f == field).unwrap_or(0);
                    key_values.get(i).cloned().unwrap_or(SortValue::Null)
                }
                GroupOrderBy::Measure(measure) => {
                    let index = column_index(&layout, &measures, *measure);
                    SortValue::read(row, index, sort.kind)?
                }
            };
            wire.push(value.to_wire());
        }
        wire.extend(key_values.iter().map(SortValue::to_wire));
        let cursor = encode_cursor(&signature, wire);
        groups.push(Arc::new(Group {
            keys,
            figures: Arc::new(figures),
            cursor,
        }));
    }
    Ok(ForwardConnection::new(
        groups,
        has_next_page,
        args.after.is_some(),
        Some(Arc::new(count)),
    ))
}

/// Where the value of an order's measure sits in a grouped row.
fn column_index(layout: &Layout, measures: &Measures, measure: Measure) -> usize {
    let at = layout.keys + usize::from(layout.currency);
    match measure.figures().first() {
        None => at,
        Some(figure) => {
            let i = measures
                .figures
                .iter()
                .position(|f| f == figure)
                .unwrap_or(0);
            at + 1 + measures.distinct.len() + i
        }
    }
}

/// The SQL of a group key on the rows aliased by `s`.
fn key_expr(s: &Scope, source: KeySource, options: KeyOptions, zone: Zone) -> Expr {
    let period = options.period;
    match source {
        KeySource::Column(column) => s.col(column),
        KeySource::Parent { table, key, column } => {
            let p = s.child();
            Expr::cust(format!(
                "(SELECT {value} FROM {table} {alias} WHERE {id} = {key})",
                value = p.raw(column),
                alias = p.alias,
                id = p.raw("id"),
                key = s.raw(key),
            ))
        }
        KeySource::Date(column) => date_key(s, column, period.unwrap_or(Period::Day)),
        KeySource::Timestamp(column) => {
            timestamp_key(s, column, period.unwrap_or(Period::Day), zone)
        }
        KeySource::Aging(column) => {
            aging_key(s, column, options.as_of.unwrap_or_else(|| zone.today()))
        }
    }
}
