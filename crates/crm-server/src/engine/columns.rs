//! Selection-aware SQL for lists: a page reads only the table columns its selection needs.
//!
//! A list of rows (a root list or a to-many relation) works out, from the fields selected under
//! `nodes` / `edges { node }`, which columns of the table it needs ([`selected`]): a column
//! field its own column, a to-many relation (`relation_lists!`) only the row's id, anything
//! else (a to-one relation, a computed field) every column, to be safe. The page's statement
//! then selects those columns only, listed in the model's order, and [`PartialModel`] reads
//! them by position and fills the others with their type's default, values that no selected
//! field reads: less for the database to send, less to decode (and, on SQLite, fewer values
//! copied across the connection's thread).

use async_graphql::Context;
use sea_orm::sea_query::{Alias, SelectStatement};
use sea_orm::{DbErr, EntityTrait, FromQueryResult, QueryResult};

use crate::engine::Listable;
use crate::engine::rows::Need;

/// A set of a table's columns, by their position in [`PartialModel::COLUMNS`], and how rows
/// holding them are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColumnSet {
    bits: u64,
    /// Decoded by SeaORM (`FromQueryResult`, by column name) rather than by position: the
    /// plain read path (`CRM_READ_PATH=plain`).
    library: bool,
}

impl ColumnSet {
    /// Every column.
    pub const ALL: ColumnSet = ColumnSet {
        bits: u64::MAX,
        library: false,
    };

    /// Every column, decoded by SeaORM.
    pub const LIBRARY: ColumnSet = ColumnSet {
        bits: u64::MAX,
        library: true,
    };

    const NONE: ColumnSet = ColumnSet {
        bits: 0,
        library: false,
    };

    /// Whether the column at `index` is in the set.
    pub fn has(self, index: usize) -> bool {
        index < 64 && self.bits & (1 << index) != 0
    }

    /// How many of a model's `columns` columns are in the set.
    pub fn count(self, columns: usize) -> usize {
        (0..columns).filter(|&index| self.has(index)).count()
    }

    fn with(self, index: usize) -> ColumnSet {
        if index < 64 {
            ColumnSet {
                bits: self.bits | (1 << index),
                library: false,
            }
        } else {
            Self::ALL
        }
    }

    /// The set of the columns named, for a model with columns `columns`.
    fn of(columns: &[&str], names: impl IntoIterator<Item = Need>) -> ColumnSet {
        let mut set = Self::NONE;
        for need in names {
            let name = match need {
                Need::Column(name) => name,
                Need::Id => "id",
                Need::Nothing => continue,
                Need::All => return Self::ALL,
            };
            match columns.iter().position(|c| *c == name) {
                Some(index) => set = set.with(index),
                None => return Self::ALL,
            }
        }
        set
    }
}

/// A table row model that can be read from a row holding only some of its columns.
pub trait PartialModel: Sized {
    /// The columns, in the order of the model's fields.
    const COLUMNS: &'static [&'static str];

    /// The model from a row whose values from position `first` on are the columns of `set`,
    /// in the order of [`PartialModel::COLUMNS`]; the others take their type's default. Read
    /// by position ([`read_at`](crate::engine::decode::read_at)): by name, each value was a
    /// hash-map lookup of its column's name.
    fn from_partial(row: &QueryResult, set: ColumnSet, first: usize) -> Result<Self, DbErr>;
}

/// Implements [`PartialModel`]: `partial_model!(payments::Model { id, contract_id, … })`,
/// every field of the model (the struct literal does not compile otherwise).
#[macro_export]
macro_rules! partial_model {
    ($model:ty { $($col:ident),* $(,)? }) => {
        impl $crate::engine::columns::PartialModel for $model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($col)),*];

            fn from_partial(
                row: &sea_orm::QueryResult,
                set: $crate::engine::columns::ColumnSet,
                first: usize,
            ) -> Result<Self, sea_orm::DbErr> {
                #[allow(non_camel_case_types, clippy::enum_variant_names)]
                enum Index { $($col),* }
                // Struct fields are evaluated in the order written: the row's order.
                let mut at = first;
                let mut next = || {
                    at += 1;
                    at - 1
                };
                Ok(Self {
                    $($col: if set.has(Index::$col as usize) {
                        $crate::engine::decode::read_at(row, next())?
                    } else {
                        Default::default()
                    },)*
                })
            }
        }
    };
}

/// The model of `row` whose values from position `first` on are the columns of `set` (see
/// [`PartialModel::from_partial`]); by SeaORM, by name, for [`ColumnSet::LIBRARY`].
pub fn decode<M: PartialModel + FromQueryResult>(
    row: &QueryResult,
    set: ColumnSet,
    first: usize,
) -> Result<M, DbErr> {
    if set.library {
        M::from_query_result(row, "")
    } else {
        M::from_partial(row, set, first)
    }
}

/// Selects the columns of `set` among `names` (a model's [`PartialModel::COLUMNS`]) of the
/// table aliased `table`, in the model's order: the order [`PartialModel::from_partial`]
/// reads them in.
pub fn select_columns(
    select: &mut SelectStatement,
    table: &Alias,
    names: &[&'static str],
    set: ColumnSet,
) {
    for (index, name) in names.iter().enumerate() {
        if set.has(index) {
            select.column((table.clone(), Alias::new(*name)));
        }
    }
}

/// The columns of `R` the selection of the list field being resolved needs from each row:
/// the fields under `nodes` and `edges { node }` (fragments included, `@skip`/`@include`
/// ignored: a superset), plus the id (cursors).
pub fn selected<R: Listable>(ctx: &Context<'_>) -> ColumnSet {
    if crate::engine::loader::plain(ctx) {
        return ColumnSet::LIBRARY;
    }
    let mut needs = vec![Need::Id];
    for field in ctx.field().selection_set() {
        match field.name() {
            "nodes" => needs.extend(field.selection_set().map(|f| R::need(f.name()))),
            "edges" => {
                for edge_field in field.selection_set() {
                    if edge_field.name() == "node" {
                        needs.extend(edge_field.selection_set().map(|f| R::need(f.name())));
                    }
                }
            }
            _ => {}
        }
    }
    ColumnSet::of(
        <<R::Entity as EntityTrait>::Model as PartialModel>::COLUMNS,
        needs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_names_its_columns_and_anything_unknown_means_all() {
        let columns = ["id", "title", "amount", "status"];
        let set = ColumnSet::of(&columns, [Need::Id, Need::Column("amount"), Need::Nothing]);
        assert!(set.has(0) && set.has(2));
        assert!(!set.has(1) && !set.has(3) && set != ColumnSet::ALL);
        assert_eq!(
            ColumnSet::of(&columns, [Need::Column("amount"), Need::All]),
            ColumnSet::ALL
        );
        assert_eq!(
            ColumnSet::of(&columns, [Need::Column("no_such_column")]),
            ColumnSet::ALL
        );
    }
}
