//! To-one relations read in the statement of the row that points to them.
//!
//! `client(id:) { assignedTo { … } }` took two statements: the client, then, a batch later,
//! its user. A lookup by id now LEFT JOINs the to-one relations its selection reads (each
//! type lists them in [`Record::TO_ONE`]) and leaves the joined rows in the request's
//! [`Primed`] store, where the relation's field finds them: one statement, one round trip.
//! The join carries the target's visibility condition, so a row the viewer may not see comes
//! back as NULLs and its field takes the usual path (and answers null). Only in requests that
//! hold nothing but queries: in a mutation, a row read before a write must not answer for
//! after it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::Context;
use sea_orm::sea_query::{Alias, Condition, ExprTrait, JoinType, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult};
use uuid::Uuid;

use crate::engine::Listable;
use crate::engine::Record;
use crate::engine::access::Viewer;
use crate::engine::access::restrict;
use crate::engine::columns::{ColumnSet, PartialModel, select_columns};
use crate::engine::reader::Reader;
use crate::engine::scope::Scope;
use crate::error::AppError;
use entity::{Table, Tabled};

type Model<R> = <<R as Record>::Entity as EntityTrait>::Model;

/// A to-one relation a lookup by id can join: `ToOne::new::<User>("assignedTo", "assigned_to")`.
pub struct ToOne {
    /// The GraphQL field that resolves it.
    field: &'static str,
    /// The column of the row holding the target's id.
    fk: &'static str,
    /// The target's table.
    table: Table,
    /// The target's columns, in its model's order.
    columns: &'static [&'static str],
    /// Reads the target from a row's values from the given position on, into the store.
    prime: fn(&QueryResult, usize, &Primed) -> Result<(), DbErr>,
}

impl ToOne {
    /// The relation resolved by `field`, to the `T` whose id is in column `fk`.
    pub const fn new<T: Listable>(field: &'static str, fk: &'static str) -> ToOne {
        ToOne {
            field,
            fk,
            table: <T::Entity as Tabled>::TABLE,
            columns: <Model<T> as PartialModel>::COLUMNS,
            prime: prime::<T>,
        }
    }
}

/// Stores the `T` read from `row` at `first`, unless the join found none (NULL id).
fn prime<T: Record>(row: &QueryResult, first: usize, primed: &Primed) -> Result<(), DbErr> {
    let columns = <Model<T> as PartialModel>::COLUMNS;
    let id_at = columns.iter().position(|c| *c == "id").unwrap_or(0);
    if row
        .try_get_by_index::<Option<Uuid>>(first + id_at)?
        .is_none()
    {
        return Ok(());
    }
    let model = <Model<T> as PartialModel>::from_partial(row, ColumnSet::ALL, first)?;
    primed.insert(T::from(model));
    Ok(())
}

/// Rows read ahead of the fields that will ask for them, by type and id (one request's).
#[derive(Default)]
pub struct Primed(Mutex<HashMap<(TypeId, Uuid), Box<dyn Any + Send + Sync>>>);

impl Primed {
    fn insert<T: Record>(&self, record: T) {
        if let Ok(mut rows) = self.0.lock() {
            rows.insert((TypeId::of::<T>(), record.id()), Box::new(record));
        }
    }

    /// The `T` with this id, if a join read it.
    pub fn get<T: Record>(&self, id: Uuid) -> Option<T> {
        let rows = self.0.lock().ok()?;
        rows.get(&(TypeId::of::<T>(), id))?
            .downcast_ref::<T>()
            .cloned()
    }
}

/// The to-one relations of `R` (as bits of positions in [`Record::TO_ONE`]) that the field
/// being resolved selects on its result.
pub fn selected_joins<R: Record>(ctx: &Context<'_>) -> u64 {
    if R::TO_ONE.is_empty() || crate::engine::loader::plain(ctx) {
        return 0;
    }
    let mut joins = 0;
    for field in ctx.field().selection_set() {
        if let Some(index) = R::TO_ONE.iter().position(|r| r.field == field.name()) {
            joins |= 1 << index;
        }
    }
    joins
}

/// The rows of `R` with these ids that the viewer may see, in one statement with the to-one
/// relations in `joins`, whose rows go to `primed`.
pub async fn fetch_by_ids<R: Record>(
    db: &Reader,
    viewer: Viewer,
    ids: impl IntoIterator<Item = Uuid>,
    joins: u64,
    primed: &Primed,
    plain: bool,
) -> Result<Vec<R>, AppError> {
    // Without joins, the plain read path decodes by SeaORM (names are unique then).
    let decoding = if plain && joins == 0 {
        ColumnSet::LIBRARY
    } else {
        ColumnSet::ALL
    };
    let table = R::table();
    let backend = db.get_database_backend();
    let scope = Scope::root(backend, viewer);
    let root = Alias::new(&scope.alias);
    let mut select = Query::select();
    let columns = <Model<R> as PartialModel>::COLUMNS;
    select_columns(&mut select, &root, columns, ColumnSet::ALL);
    select.from_as(Alias::new(table.name()), root.clone());
    let mut joined = Vec::new();
    for (index, relation) in R::TO_ONE.iter().enumerate() {
        if index >= 64 || joins & (1 << index) == 0 {
            continue;
        }
        let target = scope.child();
        let alias = Alias::new(&target.alias);
        select_columns(&mut select, &alias, relation.columns, ColumnSet::ALL);
        let on = Condition::all().add(
            target
                .col("id")
                .equals((root.clone(), Alias::new(relation.fk))),
        );
        select.join_as(
            JoinType::LeftJoin,
            Alias::new(relation.table.name()),
            alias,
            restrict(on, relation.table, &target),
        );
        joined.push(relation);
    }
    select.cond_where(restrict(
        Condition::all().add(scope.col("id").is_in(ids)),
        table,
        &scope,
    ));
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let record = R::from(crate::engine::columns::decode::<Model<R>>(
                row, decoding, 0,
            )?);
            let mut first = columns.len();
            for relation in &joined {
                (relation.prime)(row, first, primed)?;
                first += relation.columns.len();
            }
            Ok(record)
        })
        .collect()
}

/// Each relation `R` lists as joinable is a field of its type in the schema `sdl` (one listed
/// under another name would never be joined).
#[cfg(test)]
pub(crate) fn check_joins<R: crate::engine::Listable>(sdl: &str) {
    let name = R::NAME;
    let start = sdl.find(&format!("\ntype {name} {{")).unwrap_or(0);
    let body = &sdl[start..start + sdl[start..].find("\n}").unwrap_or(0)];
    assert!(!body.is_empty(), "type {name} not in the schema");
    for relation in R::TO_ONE {
        let field = format!("\n\t{}: ", relation.field);
        assert!(
            body.contains(&field),
            "{name}.{} is not a field",
            relation.field
        );
    }
}
