//! `aggregate` on every connection: the number of rows, distinct counts, and per field figures
//! (money per currency, whole numbers, dates) over every row the list's filter and the
//! viewer's access rules admit, whatever the page. One statement per connection; under a
//! relation, one per level for every parent at once (grouped by the parent's key).
//!
//! Money never mixes currencies: money figures are computed per currency (the table's
//! currency column, or its parent's) and answered as one entry per currency. Sums are exact:
//! PostgreSQL sums `NUMERIC`, SQLite (amounts stored as `REAL`) sums whole cents as integers;
//! averages are the exact sum divided by the count, rounded to the cent (halves away from zero).
//!
//! Only what the selection asks for is computed ([`requested`]): the figures of each field
//! argument, the functions selected under it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_graphql::{OutputType, SelectionField, SimpleObject, Value};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::engine::access::{Reach, Viewer, restrict_in_reach};
use crate::engine::decode::read_at;
use crate::engine::reader::Reader;
use crate::engine::record::Listable;
use crate::engine::scalars;
use crate::engine::scope::Scope;
use crate::error::AppError;

/// A function over one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    Sum,
    Min,
    Max,
    /// The values that are not null (averages of nullable numbers).
    Count,
}

/// How a column is aggregated and read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An amount (`NUMERIC(14,2)`, never null), figured per currency.
    Money,
    /// A whole number.
    Number,
    /// A calendar date.
    Date,
    /// A timestamp.
    DateTime,
}

/// What one statement computes beyond the row count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Measures {
    /// Columns whose distinct values are counted.
    pub distinct: BTreeSet<&'static str>,
    /// Functions over columns.
    pub figures: BTreeSet<(Kind, &'static str, Func)>,
}

impl Measures {
    /// Whether money figures (per currency) are asked for.
    pub fn money(&self) -> bool {
        self.figures.iter().any(|(kind, _, _)| *kind == Kind::Money)
    }
}

/// Where the currency of a table's amounts is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    /// A column of the table itself.
    Column(&'static str),
    /// A column of the parent row the table's `key` points to (a payment's contract).
    Parent {
        table: &'static str,
        key: &'static str,
        column: &'static str,
    },
}

impl Currency {
    /// The currency of the row aliased by `scope`; joins the parent table to `select` when
    /// it comes from there (a to-one join: it neither adds nor removes rows).
    pub fn expr(self, scope: &Scope, select: &mut SelectStatement) -> Expr {
        match self {
            Currency::Column(column) => scope.col(column),
            Currency::Parent { table, key, column } => {
                let parent = scope.child();
                select.join_as(
                    sea_orm::sea_query::JoinType::LeftJoin,
                    Alias::new(table),
                    Alias::new(&parent.alias),
                    parent
                        .col("id")
                        .equals((Alias::new(&scope.alias), Alias::new(key))),
                );
                parent.col(column)
            }
        }
    }
}

/// A field enum of an aggregate type (`PaymentMoneyField` …): the column each value reads.
pub trait AggregateField: async_graphql::InputType + Copy {
    fn column(self) -> &'static str;
}

/// A table's `…Aggregate` object (written by [`aggregates!`](crate::aggregates)).
pub trait AggregateType: OutputType + From<Arc<Figures>> + Send + Sync + 'static {
    /// Where the currency of the table's amounts is read (`None`: no amounts).
    const CURRENCY: Option<Currency>;
    /// The column the `field` argument `value` of the method `method` (`money`, …) names.
    fn column(method: &str, value: &Value) -> Option<&'static str>;
}

/// The kind of figures each method of an aggregate object answers.
fn kind_of(method: &str) -> Option<Kind> {
    match method {
        "money" => Some(Kind::Money),
        "number" => Some(Kind::Number),
        "date" => Some(Kind::Date),
        "dateTime" => Some(Kind::DateTime),
        _ => None,
    }
}

/// What the selection of an `…Aggregate` object asks for (fragments included; fields under
/// `@skip` are computed anyway, harmlessly).
pub fn requested<A: AggregateType>(aggregate: SelectionField<'_>) -> Result<Measures, AppError> {
    let mut measures = Measures::default();
    for field in aggregate.selection_set() {
        let name = field.name();
        let kind = kind_of(name);
        if kind.is_none() && name != "countDistinct" {
            continue;
        }
        let arguments = field
            .arguments()
            .map_err(|_| AppError::bad_input(name, "invalid arguments"))?;
        let Some(column) = arguments
            .iter()
            .find(|(argument, _)| argument.as_str() == "field")
            .and_then(|(_, value)| A::column(name, value))
        else {
            continue;
        };
        let Some(kind) = kind else {
            measures.distinct.insert(column);
            continue;
        };
        // Whatever is selected under it (`currency`, `count`, `__typename` alone), the field's
        // entry exists: one figure at least (amounts: the sum, which splits by currency).
        let default = match kind {
            Kind::Money => Func::Sum,
            Kind::Number => Func::Count,
            Kind::Date | Kind::DateTime => Func::Min,
        };
        measures.figures.insert((kind, column, default));
        for function in field.selection_set() {
            let funcs: &[Func] = match (kind, function.name()) {
                (_, "sum") => &[Func::Sum],
                (_, "min") => &[Func::Min],
                (_, "max") => &[Func::Max],
                (Kind::Money, "avg") => &[Func::Sum],
                (Kind::Number, "avg") => &[Func::Sum, Func::Count],
                (Kind::Number, "count") => &[Func::Count],
                _ => &[],
            };
            for func in funcs {
                measures.figures.insert((kind, column, *func));
            }
        }
    }
    Ok(measures)
}

/// The SQL of one figure over the rows aliased by `s`. Amounts on SQLite are summed and
/// compared as whole cents (exact integers), everything else as stored.
pub fn figure_sql(s: &Scope, kind: Kind, column: &str, func: Func) -> Expr {
    let col = s.raw(column);
    let name = match func {
        Func::Sum => "SUM",
        Func::Min => "MIN",
        Func::Max => "MAX",
        Func::Count => "COUNT",
    };
    Expr::cust(match (kind, func, s.is_sqlite()) {
        (_, Func::Count, _) => format!("COUNT({col})"),
        (Kind::Money, _, true) => format!("{name}(CAST(ROUND({col} * 100) AS INTEGER))"),
        // The sum of no values is 0, as `NumberAggregate.sum` says (and `having` compares).
        (Kind::Number, Func::Sum, true) => format!("COALESCE(SUM({col}), 0)"),
        (Kind::Number, Func::Sum, false) => format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT)"),
        (Kind::Number, _, false) => format!("CAST({name}({col}) AS BIGINT)"),
        _ => format!("{name}({col})"),
    })
}

/// An amount as a figure reads it: cents on SQLite, a decimal on PostgreSQL.
pub fn read_money(
    row: &QueryResult,
    index: usize,
    sqlite: bool,
) -> Result<Option<Decimal>, AppError> {
    Ok(if sqlite {
        read_at::<Option<i64>>(row, index)?.map(|cents| Decimal::new(cents, 2))
    } else {
        read_at::<Option<Decimal>>(row, index)?.map(|d| scalars::Decimal::money(d).0)
    })
}

/// The average of `count` values summing to `sum`, rounded to the cent (halves away from zero).
pub fn average(sum: Decimal, count: i64) -> Option<Decimal> {
    if count == 0 {
        return None;
    }
    sum.checked_div(Decimal::from(count))
        .map(|avg| avg.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// The figures of one money field in one currency.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct MoneyAggregate {
    /// The currency (ISO 4217 code) of these amounts.
    pub currency: String,
    /// The number of rows in this currency.
    pub count: i64,
    /// The exact sum.
    pub sum: scalars::Decimal,
    /// The average, rounded to the cent (halves away from zero).
    pub avg: Option<scalars::Decimal>,
    /// The smallest amount.
    pub min: Option<scalars::Decimal>,
    /// The largest amount.
    pub max: Option<scalars::Decimal>,
}

/// The figures of one whole-number field.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub struct NumberAggregate {
    /// The number of rows with a value.
    pub count: i64,
    /// The sum of the values (0 when there are none), as an exact decimal string: totals
    /// outgrow GraphQL's 32-bit `Int` (file sizes pass 2 GiB).
    pub sum: scalars::Decimal,
    /// The average, rounded to two decimals (halves away from zero); null when there are no values.
    pub avg: Option<scalars::Decimal>,
    /// The smallest value.
    pub min: Option<i64>,
    /// The largest value.
    pub max: Option<i64>,
}

impl NumberAggregate {
    fn empty() -> Self {
        NumberAggregate {
            count: 0,
            sum: scalars::Decimal(Decimal::ZERO),
            avg: None,
            min: None,
            max: None,
        }
    }
}

/// The earliest and latest value of a date field.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq)]
pub struct DateAggregate {
    /// The earliest date.
    pub min: Option<scalars::Date>,
    /// The latest date.
    pub max: Option<scalars::Date>,
}

/// The earliest and latest value of a timestamp field.
#[derive(SimpleObject, Debug, Clone, Default, PartialEq)]
pub struct DateTimeAggregate {
    /// The earliest time.
    pub min: Option<scalars::DateTime>,
    /// The latest time.
    pub max: Option<scalars::DateTime>,
}

/// What an aggregate computed, for one list, one parent or one group.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub count: i64,
    pub distinct: HashMap<&'static str, i64>,
    pub money: HashMap<&'static str, Vec<MoneyAggregate>>,
    pub numbers: HashMap<&'static str, NumberAggregate>,
    pub dates: HashMap<&'static str, DateAggregate>,
    pub times: HashMap<&'static str, DateTimeAggregate>,
}

fn not_computed(what: &str) -> AppError {
    AppError::Internal(format!("aggregate figure {what} was not computed"))
}

impl Figures {
    /// Figures of nothing: what a parent without rows gets.
    pub fn empty(measures: &Measures) -> Figures {
        let mut figures = Figures::default();
        for column in &measures.distinct {
            figures.distinct.insert(column, 0);
        }
        for (kind, column, _) in &measures.figures {
            match kind {
                Kind::Money => {
                    figures.money.entry(column).or_default();
                }
                Kind::Number => {
                    figures
                        .numbers
                        .entry(column)
                        .or_insert_with(NumberAggregate::empty);
                }
                Kind::Date => {
                    figures.dates.entry(column).or_default();
                }
                Kind::DateTime => {
                    figures.times.entry(column).or_default();
                }
            }
        }
        figures
    }

    pub fn distinct(&self, column: &str) -> Result<i64, AppError> {
        self.distinct
            .get(column)
            .copied()
            .ok_or_else(|| not_computed(column))
    }

    pub fn money(&self, column: &str) -> Result<&[MoneyAggregate], AppError> {
        self.money
            .get(column)
            .map(Vec::as_slice)
            .ok_or_else(|| not_computed(column))
    }

    pub fn number(&self, column: &str) -> Result<&NumberAggregate, AppError> {
        self.numbers.get(column).ok_or_else(|| not_computed(column))
    }

    pub fn date(&self, column: &str) -> Result<&DateAggregate, AppError> {
        self.dates.get(column).ok_or_else(|| not_computed(column))
    }

    pub fn date_time(&self, column: &str) -> Result<&DateTimeAggregate, AppError> {
        self.times.get(column).ok_or_else(|| not_computed(column))
    }
}

/// Where each figure of a row sits: after the grouping columns, the currency (when money is
/// asked for), the count, the distinct counts, then the figures, in [`Measures`] order.
pub struct Layout {
    /// Columns before the figures (parent key, group keys).
    pub keys: usize,
    /// Whether a currency column follows the keys.
    pub currency: bool,
    /// Whether the statement is split (see [`statement`]): the row without a currency holds
    /// the count and the figures other than money.
    pub split: bool,
}

impl Layout {
    /// The layout of [`statement`]'s rows for `A`'s figures `measures`, after `keys` columns.
    pub fn of<A: AggregateType>(keys: usize, measures: &Measures, by_currency: bool) -> Layout {
        let currency = A::CURRENCY.is_some() && (by_currency || measures.money());
        Layout {
            keys,
            currency,
            split: currency && !by_currency && !measures.distinct.is_empty(),
        }
    }
}

impl Layout {
    fn count_at(&self) -> usize {
        self.keys + usize::from(self.currency)
    }
}

/// Adds the figures' columns (count, distinct counts, figures) to `select`. `money_here`:
/// whether money figures belong to this statement (`false` for the per-list part of a
/// split statement, see [`statement`]), `others`: whether the other figures do.
fn add_figures(
    select: &mut SelectStatement,
    s: &Scope,
    measures: &Measures,
    money_here: bool,
    others: bool,
) {
    let null = || Expr::cust("NULL");
    select.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    for (i, column) in measures.distinct.iter().enumerate() {
        let expr = if others {
            Expr::cust(format!("COUNT(DISTINCT {})", s.raw(column)))
        } else {
            null()
        };
        select.expr_as(expr, Alias::new(format!("d{i}")));
    }
    for (i, (kind, column, func)) in measures.figures.iter().enumerate() {
        let here = if *kind == Kind::Money {
            money_here
        } else {
            others
        };
        let expr = if here {
            figure_sql(s, *kind, column, *func)
        } else {
            null()
        };
        select.expr_as(expr, Alias::new(format!("f{i}")));
    }
}

/// The rows `viewer` may see of `R` under `filter` (and `extra`), as a `SELECT` of the
/// figures grouped by `keys`: one row per group (per group and currency when money is asked
/// for). When money figures and distinct counts are both asked for, distinct counts cannot
/// be added up across currencies: the statement is the union of the per-list figures and the
/// per-currency money figures (rows whose currency is null are the former).
pub fn statement<R: Listable>(
    scope: &Scope,
    filter: Option<&R::Filter>,
    extra: Condition,
    reach: Reach,
    keys: &[Expr],
    measures: &Measures,
    by_currency: bool,
) -> SelectStatement {
    let currency =
        <R::Aggregate as AggregateType>::CURRENCY.filter(|_| by_currency || measures.money());
    let part = |money_here: bool, others: bool, per_currency: bool| {
        let s = scope;
        let mut select = Query::select();
        select.from_as(Alias::new(R::table().name()), Alias::new(&s.alias));
        let condition = extra
            .clone()
            .add(crate::engine::filters::list_condition(filter, s));
        select.cond_where(restrict_in_reach(condition, R::table(), s, reach));
        for (i, key) in keys.iter().enumerate() {
            select.expr_as(key.clone(), Alias::new(format!("k{i}")));
            select.add_group_by([Expr::cust((i + 1).to_string())]);
        }
        if let Some(currency) = currency {
            let expr = if per_currency {
                select.add_group_by([Expr::cust((keys.len() + 1).to_string())]);
                currency.expr(s, &mut select)
            } else {
                Expr::cust("NULL")
            };
            select.expr_as(expr, Alias::new("cur"));
        }
        add_figures(&mut select, s, measures, money_here, others);
        select
    };
    match currency {
        None => part(false, true, false),
        Some(_) if by_currency || measures.distinct.is_empty() => part(true, true, true),
        Some(_) => {
            let mut whole = part(false, true, false);
            whole.union(UnionType::All, part(true, false, true));
            whole
        }
    }
}

/// Reads the figures of one row into `figures` (adding a currency's money figures, merging the
/// others: a statement grouped by currency has one row per currency).
pub fn read_row(
    row: &QueryResult,
    layout: &Layout,
    measures: &Measures,
    sqlite: bool,
    figures: &mut Figures,
) -> Result<(), AppError> {
    let currency = if layout.currency {
        read_at::<Option<String>>(row, layout.keys)?
    } else {
        None
    };
    // A split statement's row without currency carries the count and the other figures; its
    // per-currency rows only money.
    let whole_row = !layout.split || currency.is_none();
    let at = layout.count_at();
    let n = read_at::<i64>(row, at)?;
    if whole_row {
        figures.count += n;
    }
    for (i, column) in measures.distinct.iter().enumerate() {
        if let Some(d) = read_at::<Option<i64>>(row, at + 1 + i)? {
            *figures.distinct.entry(column).or_default() += d;
        }
    }
    let first = at + 1 + measures.distinct.len();
    let mut money: HashMap<&'static str, MoneyAggregate> = HashMap::new();
    for (i, (kind, column, func)) in measures.figures.iter().enumerate() {
        let index = first + i;
        match kind {
            Kind::Money => {
                let Some(currency) = &currency else { continue };
                let entry = money.entry(column).or_insert_with(|| MoneyAggregate {
                    currency: currency.trim().to_owned(),
                    count: n,
                    sum: scalars::Decimal::money(Decimal::ZERO),
                    avg: None,
                    min: None,
                    max: None,
                });
                let value = read_money(row, index, sqlite)?.map(scalars::Decimal::money);
                match func {
                    Func::Sum => {
                        let sum = value.unwrap_or(scalars::Decimal::money(Decimal::ZERO));
                        entry.sum = sum;
                        entry.avg = average(sum.0, n).map(scalars::Decimal::money);
                    }
                    Func::Min => entry.min = value,
                    Func::Max => entry.max = value,
                    Func::Count => {}
                }
            }
            _ if !whole_row => {}
            Kind::Number => {
                let entry = figures
                    .numbers
                    .entry(column)
                    .or_insert_with(NumberAggregate::empty);
                let value = read_at::<Option<i64>>(row, index)?;
                match func {
                    Func::Sum => {
                        entry.sum =
                            scalars::Decimal(entry.sum.0 + Decimal::from(value.unwrap_or(0)))
                    }
                    Func::Count => entry.count = entry.count.saturating_add(value.unwrap_or(0)),
                    Func::Min => entry.min = merge(entry.min, value, std::cmp::min),
                    Func::Max => entry.max = merge(entry.max, value, std::cmp::max),
                }
            }
            Kind::Date => {
                let entry = figures.dates.entry(column).or_default();
                let value = read_at::<Option<chrono::NaiveDate>>(row, index)?.map(scalars::Date);
                match func {
                    Func::Min => entry.min = merge(entry.min, value, std::cmp::min),
                    Func::Max => entry.max = merge(entry.max, value, std::cmp::max),
                    _ => {}
                }
            }
            Kind::DateTime => {
                let entry = figures.times.entry(column).or_default();
                let value = read_at::<Option<chrono::DateTime<chrono::Utc>>>(row, index)?
                    .map(scalars::DateTime::from);
                match func {
                    Func::Min => entry.min = merge(entry.min, value, std::cmp::min),
                    Func::Max => entry.max = merge(entry.max, value, std::cmp::max),
                    _ => {}
                }
            }
        }
    }
    for (column, entry) in money {
        let list = figures.money.entry(column).or_default();
        let at = list.partition_point(|m| m.currency < entry.currency);
        list.insert(at, entry);
    }
    Ok(())
}

/// Averages of whole numbers, once their sums and counts are all read.
pub fn finish(figures: &mut Figures) {
    for number in figures.numbers.values_mut() {
        number.avg = average(number.sum.0, number.count).map(scalars::Decimal);
    }
}

fn merge<T: Copy>(a: Option<T>, b: Option<T>, pick: fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// The figures of a root list: the rows `viewer` may see under `filter`.
pub async fn aggregate_root<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    filter: Option<&R::Filter>,
    measures: &Measures,
) -> Result<Figures, AppError> {
    let scope = Scope::root(db.get_database_backend(), viewer);
    let select = statement::<R>(
        &scope,
        filter,
        Condition::all(),
        Reach::Table,
        &[],
        measures,
        false,
    );
    let rows = db.query_all(&select).await?;
    let layout = Layout::of::<R::Aggregate>(0, measures, false);
    let mut figures = Figures::empty(measures);
    for row in &rows {
        read_row(row, &layout, measures, scope.is_sqlite(), &mut figures)?;
    }
    finish(&mut figures);
    Ok(figures)
}

/// The figures of a to-many relation for every parent of a level, in one statement.
pub async fn aggregate_children<R: Listable>(
    db: &Reader,
    viewer: Viewer,
    parent_col: &'static str,
    parents: &[Uuid],
    filter: Option<&R::Filter>,
    measures: &Measures,
) -> Result<HashMap<Uuid, Figures>, AppError> {
    let scope = Scope::root(db.get_database_backend(), viewer);
    let parent = scope.col(parent_col);
    let select = statement::<R>(
        &scope,
        filter,
        Condition::all().add(parent.clone().is_in(parents.iter().copied())),
        Reach::Ids,
        &[parent],
        measures,
        false,
    );
    let rows = db.query_all(&select).await?;
    let layout = Layout::of::<R::Aggregate>(1, measures, false);
    let mut out: HashMap<Uuid, Figures> = HashMap::with_capacity(parents.len());
    for row in &rows {
        let parent = read_at::<Uuid>(row, 0)?;
        let figures = out
            .entry(parent)
            .or_insert_with(|| Figures::empty(measures));
        read_row(row, &layout, measures, scope.is_sqlite(), figures)?;
    }
    for figures in out.values_mut() {
        finish(figures);
    }
    Ok(out)
}

/// Keys for relation aggregates: the same relation, filter and measures share one statement.
pub struct AggregateKey<R: Listable> {
    pub parent_col: &'static str,
    pub parent: Uuid,
    pub filter: Option<Arc<R::Filter>>,
    pub measures: Arc<Measures>,
}

impl<R: Listable> Clone for AggregateKey<R> {
    fn clone(&self) -> Self {
        AggregateKey {
            parent_col: self.parent_col,
            parent: self.parent,
            filter: self.filter.clone(),
            measures: self.measures.clone(),
        }
    }
}
impl<R: Listable> PartialEq for AggregateKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.parent_col == other.parent_col
            && self.parent == other.parent
            && self.filter == other.filter
            && self.measures == other.measures
    }
}
impl<R: Listable> Eq for AggregateKey<R> {}
impl<R: Listable> std::hash::Hash for AggregateKey<R> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parent_col.hash(state);
        self.parent.hash(state);
        self.filter.hash(state);
        self.measures.hash(state);
    }
}

/// Declares a field enum of an aggregate type, each value reading one column.
#[macro_export]
macro_rules! aggregate_field {
    ($(#[$attr:meta])* $name:ident { $($(#[doc = $vdoc:literal])* $variant:ident = $column:literal),* $(,)? }) => {
        $(#[$attr])*
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant,)*
        }

        impl $crate::engine::aggregate::AggregateField for $name {
            fn column(self) -> &'static str {
                match self {
                    $(Self::$variant => $column,)*
                }
            }
        }
    };
}

/// Declares a table's `…Aggregate` object once: which fields can be counted distinctly and
/// which carry money, whole numbers, dates and timestamps (each a field enum, its values the
/// table's columns), and where the currency of its amounts is read. Sections other than
/// `distinct` are optional, in this order.
///
/// ```ignore
/// aggregates! {
///     /// Figures over payments.
///     PaymentAggregate for Payment {
///         currency Currency::Parent { … };
///         distinct PaymentDistinctField { /// The client. ClientId = "client_id" }
///         money PaymentMoneyField { /// The amount. Amount = "amount" }
///         date PaymentDateField { /// The payment date. PaymentDate = "payment_date" }
///     }
/// }
/// ```
#[macro_export]
macro_rules! aggregates {
    (
        $(#[doc = $doc:literal])*
        $name:ident for $record:ident {
            $(currency $currency:expr;)?
            distinct $distinct:ident { $($distinct_body:tt)* }
            $(money $money:ident { $($money_body:tt)* })?
            $(number $number:ident { $($number_body:tt)* })?
            $(date $date:ident { $($date_body:tt)* })?
            $(date_time $time:ident { $($time_body:tt)* })?
            group $field:ident, keys $keys:ident, by $by:ident, measure $measure:ident,
                having $having:ident, order $order:ident {
                $(+ currency $currency_doc:literal;)?
                $(
                    $(#[doc = $key_doc:literal])*
                    $variant:ident: $key:ident: $key_ty:ty = $source:expr
                ),* $(,)?
            }
        }
    ) => {
        $crate::aggregate_field! {
            #[doc = concat!("Fields of ", stringify!($record), " whose distinct values can be counted.")]
            $distinct { $($distinct_body)* }
        }
        $($crate::aggregate_field! {
            #[doc = concat!("Amounts of ", stringify!($record), " (figured per currency).")]
            $money { $($money_body)* }
        })?
        $($crate::aggregate_field! {
            #[doc = concat!("Whole-number fields of ", stringify!($record), ".")]
            $number { $($number_body)* }
        })?
        $($crate::aggregate_field! {
            #[doc = concat!("Date fields of ", stringify!($record), ".")]
            $date { $($date_body)* }
        })?
        $($crate::aggregate_field! {
            #[doc = concat!("Timestamp fields of ", stringify!($record), ".")]
            $time { $($time_body)* }
        })?

        $(#[doc = $doc])*
        pub struct $name(std::sync::Arc<$crate::engine::aggregate::Figures>);

        impl From<std::sync::Arc<$crate::engine::aggregate::Figures>> for $name {
            fn from(figures: std::sync::Arc<$crate::engine::aggregate::Figures>) -> Self {
                $name(figures)
            }
        }

        impl $crate::engine::aggregate::AggregateType for $name {
            const CURRENCY: Option<$crate::engine::aggregate::Currency> =
                $crate::aggregates!(@currency $($currency)?);

            fn column(method: &str, value: &async_graphql::Value) -> Option<&'static str> {
                fn parse<F: $crate::engine::aggregate::AggregateField>(
                    value: &async_graphql::Value,
                ) -> Option<&'static str> {
                    <F as async_graphql::InputType>::parse(Some(value.clone()))
                        .ok()
                        .map(F::column)
                }
                match method {
                    "countDistinct" => parse::<$distinct>(value),
                    $("money" => parse::<$money>(value),)?
                    $("number" => parse::<$number>(value),)?
                    $("date" => parse::<$date>(value),)?
                    $("dateTime" => parse::<$time>(value),)?
                    _ => None,
                }
            }
        }

        $(#[doc = $doc])*
        #[async_graphql::Object]
        impl $name {
            /// The number of rows.
            async fn count(&self) -> i64 {
                self.0.count
            }

            /// The number of distinct non-null values of a field.
            async fn count_distinct(&self, #[graphql(desc = "The field counted.")] field: $distinct) -> async_graphql::Result<i64> {
                use $crate::engine::aggregate::AggregateField;
                Ok(self.0.distinct(field.column())?)
            }

            $(
            /// Figures of an amount, one entry per currency (ordered by currency code): amounts
            /// of different currencies are never added together.
            async fn money(&self, #[graphql(desc = "The amount.")] field: $money) -> async_graphql::Result<&[$crate::engine::aggregate::MoneyAggregate]> {
                use $crate::engine::aggregate::AggregateField;
                Ok(self.0.money(field.column())?)
            }
            )?

            $(
            /// Figures of a whole-number field.
            async fn number(&self, #[graphql(desc = "The field.")] field: $number) -> async_graphql::Result<&$crate::engine::aggregate::NumberAggregate> {
                use $crate::engine::aggregate::AggregateField;
                Ok(self.0.number(field.column())?)
            }
            )?

            $(
            /// The earliest and latest value of a date field.
            async fn date(&self, #[graphql(desc = "The field.")] field: $date) -> async_graphql::Result<&$crate::engine::aggregate::DateAggregate> {
                use $crate::engine::aggregate::AggregateField;
                Ok(self.0.date(field.column())?)
            }
            )?

            $(
            /// The earliest and latest value of a timestamp field.
            async fn date_time(&self, #[graphql(desc = "The field.")] field: $time) -> async_graphql::Result<&$crate::engine::aggregate::DateTimeAggregate> {
                use $crate::engine::aggregate::AggregateField;
                Ok(self.0.date_time(field.column())?)
            }
            )?
        }

        #[doc = concat!("Keys ", stringify!($record), " rows can be grouped by.")]
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $field {
            $($(#[doc = $key_doc])* $variant,)*
        }

        impl $crate::engine::groups::GroupField for $field {
            fn source(self) -> $crate::engine::groups::KeySource {
                use $crate::engine::groups::KeySource;
                match self {
                    $(Self::$variant => $source,)*
                }
            }
            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($key),)*
                }
            }
            fn kind(self) -> $crate::engine::cursor::KeyKind {
                match self {
                    $(Self::$variant => <$key_ty as $crate::engine::groups::GroupKeyValue>::KIND,)*
                }
            }
        }

        #[doc = concat!("The keys of a group of ", stringify!($record), " rows (null for keys not grouped by).")]
        #[derive(async_graphql::SimpleObject, Debug, Clone, Default)]
        pub struct $keys {
            $($(#[doc = $key_doc])* pub $key: Option<$key_ty>,)*
            $(#[doc = $currency_doc] pub currency: Option<String>,)?
        }

        impl $crate::engine::groups::GroupKeys for $keys {
            type Field = $field;
            fn read(
                &mut self,
                field: $field,
                row: &sea_orm::QueryResult,
                index: usize,
            ) -> Result<$crate::engine::cursor::SortValue, $crate::error::AppError> {
                use $crate::engine::groups::GroupKeyValue;
                match field {
                    $($field::$variant => {
                        let value = <$key_ty as GroupKeyValue>::read(row, index)?;
                        let sort = value
                            .as_ref()
                            .map_or($crate::engine::cursor::SortValue::Null, GroupKeyValue::sort_value);
                        self.$key = value;
                        Ok(sort)
                    })*
                }
            }
            fn set_currency(&mut self, currency: Option<String>) {
                $(let _: &str = $currency_doc; self.currency = currency.clone();)?
                let _ = currency;
            }
        }

        #[doc = concat!("One key to group ", stringify!($record), " rows by.")]
        #[derive(async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $by {
            /// The key.
            pub field: $field,
            /// Dates and times only: the period they are cut to (default: the day).
            pub period: Option<$crate::engine::periods::Period>,
            /// Ages (`AGING`) only: the day they are counted from (default: today in the
            /// grouping's time zone).
            pub as_of: Option<$crate::engine::scalars::Date>,
        }

        #[doc = concat!("A figure of each group of ", stringify!($record), " rows: COUNT, or a function of one field.")]
        #[derive(async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $measure {
            /// The function.
            pub function: $crate::engine::groups::AggregateFunction,
            $(
            /// The amount (SUM, AVG, MIN, MAX; per currency).
            pub money: Option<$money>,
            )?
            $(
            /// The whole-number field (SUM, AVG, MIN, MAX).
            pub number: Option<$number>,
            )?
        }

        impl $measure {
            fn measure(&self, argument: &str) -> Result<$crate::engine::groups::Measure, $crate::error::AppError> {
                #[allow(unused_imports)]
                use $crate::engine::aggregate::{AggregateField, Kind};
                $crate::engine::groups::Measure::new(
                    self.function,
                    &[
                        $(self.money.map(|f: $money| (Kind::Money, f.column())),)?
                        $(self.number.map(|f: $number| (Kind::Number, f.column())),)?
                    ],
                    argument,
                )
            }
        }

        #[doc = concat!("A condition on a figure of each group of ", stringify!($record), " rows (comparisons combine with AND).")]
        #[derive(async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $having {
            /// The figure compared (averages are compared exactly, not rounded).
            pub measure: $measure,
            /// Equal to.
            pub eq: Option<$crate::engine::scalars::Decimal>,
            /// Greater than.
            pub gt: Option<$crate::engine::scalars::Decimal>,
            /// Greater than or equal to.
            pub gte: Option<$crate::engine::scalars::Decimal>,
            /// Less than.
            pub lt: Option<$crate::engine::scalars::Decimal>,
            /// Less than or equal to.
            pub lte: Option<$crate::engine::scalars::Decimal>,
        }

        #[doc = concat!("One sort key of groups of ", stringify!($record), " rows: a key grouped by, or a figure.")]
        #[derive(async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $order {
            /// A key grouped by.
            pub key: Option<$field>,
            /// A figure (COUNT, SUM, MIN or MAX).
            pub measure: Option<$measure>,
            /// Ascending (default) or descending; nulls last either way.
            #[graphql(default)]
            pub direction: $crate::engine::order::OrderDirection,
        }

        impl $crate::engine::groups::Grouping for $name {
            type Field = $field;
            type Keys = $keys;
            type By = $by;
            type Having = $having;
            type Order = $order;

            fn key(by: &$by) -> ($field, $crate::engine::groups::KeyOptions) {
                (
                    by.field,
                    $crate::engine::groups::KeyOptions {
                        period: by.period,
                        as_of: by.as_of.map(|day| day.0),
                    },
                )
            }

            fn having(having: &$having) -> Result<$crate::engine::groups::Having, $crate::error::AppError> {
                use $crate::engine::groups::Comparison;
                $crate::engine::groups::comparisons(
                    having.measure.measure("having")?,
                    [
                        (Comparison::Eq, having.eq),
                        (Comparison::Gt, having.gt),
                        (Comparison::Gte, having.gte),
                        (Comparison::Lt, having.lt),
                        (Comparison::Lte, having.lte),
                    ],
                )
            }

            fn order(
                order: &$order,
            ) -> Result<($crate::engine::groups::GroupOrderBy<$field>, bool), $crate::error::AppError> {
                $crate::engine::groups::group_order(
                    order.key,
                    order.measure.map(|m| m.measure("orderBy")),
                    order.direction,
                )
            }
        }
    };
    (@currency) => { None };
    (@currency $currency:expr) => { Some($currency) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_are_exact_sums_divided_and_rounded_half_away_from_zero() {
        assert_eq!(
            average(Decimal::new(1000, 2), 3),
            Some(Decimal::new(333, 2))
        );
        assert_eq!(average(Decimal::new(5, 2), 2), Some(Decimal::new(3, 2)));
        assert_eq!(average(Decimal::new(-5, 2), 2), Some(Decimal::new(-3, 2)));
        assert_eq!(average(Decimal::ZERO, 0), None);
    }

    #[test]
    fn money_is_summed_as_cents_on_sqlite_and_as_numeric_on_postgres() {
        let viewer = Viewer {
            user_id: Uuid::nil(),
            role: entity::Role::Admin,
        };
        let sqlite = Scope::root(sea_orm::DbBackend::Sqlite, viewer);
        let pg = Scope::root(sea_orm::DbBackend::Postgres, viewer);
        let text = |e: Expr| {
            Query::select()
                .expr(e)
                .to_string(sea_orm::sea_query::PostgresQueryBuilder)
        };
        assert!(
            text(figure_sql(&sqlite, Kind::Money, "amount", Func::Sum))
                .contains("SUM(CAST(ROUND(\"t0\".\"amount\" * 100) AS INTEGER))")
        );
        assert!(
            text(figure_sql(&pg, Kind::Money, "amount", Func::Sum))
                .contains("SUM(\"t0\".\"amount\")")
        );
    }
}
