//! What a record type is to the engine: an API type backed by one table row ([`Record`]),
//! and one that can be listed ([`Listable`]) with its filter and sort fields.

use entity::{Table, Tabled};
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::engine::columns::PartialModel;
use crate::engine::filters::EntityFilter;
use crate::engine::joins::ToOne;
use crate::engine::order::SortField;
use crate::engine::rows::Columns;

/// An API type backed by one table row.
pub trait Record:
    From<<Self::Entity as EntityTrait>::Model> + Clone + Send + Sync + 'static
{
    /// The table (its rows readable column by column, see [`crate::engine::columns`]; who sees
    /// them, see [`crate::engine::access`]).
    type Entity: EntityTrait<Model: PartialModel> + Tabled;
    /// The to-one relations a lookup by id can read in its own statement
    /// ([`crate::engine::joins`]).
    const TO_ONE: &'static [ToOne] = &[];
    /// The row's primary key.
    fn id(&self) -> Uuid;
    /// The table.
    fn table() -> Table {
        <Self::Entity as Tabled>::TABLE
    }
}

/// A type that can be listed: its table, filter and sort fields.
pub trait Listable: Record + Columns {
    /// The GraphQL type name (`Client`), for `ClientConnection` and `ClientEdge`.
    const NAME: &'static str;
    /// Its filter input.
    type Filter: EntityFilter;
    /// Its sortable fields.
    type OrderField: SortField;
    /// Its `aggregate` object (see [`aggregates!`](crate::aggregates)).
    type Aggregate: crate::engine::groups::Grouping;
}

/// How a field's value is made from its column's (see [`record!`](crate::record)).
pub trait FromColumn<T> {
    fn from_column(value: T) -> Self;
}

/// Columns read as they are.
macro_rules! as_stored {
    ($($ty:ty),* $(,)?) => {$(
        impl FromColumn<$ty> for $ty {
            fn from_column(value: $ty) -> $ty {
                value
            }
        }
    )*};
}
as_stored!(
    String,
    bool,
    i32,
    i64,
    Uuid,
    entity::ClientStatus,
    entity::ContractStatus,
    entity::PaymentStatus,
    entity::Role,
);

impl<T, U: FromColumn<T>> FromColumn<Option<T>> for Option<U> {
    fn from_column(value: Option<T>) -> Self {
        value.map(U::from_column)
    }
}

/// Every decimal column is an amount of money.
impl FromColumn<rust_decimal::Decimal> for crate::engine::scalars::Decimal {
    fn from_column(value: rust_decimal::Decimal) -> Self {
        crate::engine::scalars::Decimal::money(value)
    }
}

impl FromColumn<chrono::NaiveDate> for crate::engine::scalars::Date {
    fn from_column(value: chrono::NaiveDate) -> Self {
        crate::engine::scalars::Date(value)
    }
}

impl FromColumn<chrono::DateTime<chrono::Utc>> for crate::engine::scalars::DateTime {
    fn from_column(value: chrono::DateTime<chrono::Utc>) -> Self {
        value.into()
    }
}

/// A secret's presence (`hasAccessToken`): whether one is stored, never the secret.
impl FromColumn<Option<String>> for bool {
    fn from_column(value: Option<String>) -> Self {
        value.is_some()
    }
}

/// Declares a record type once: its GraphQL object (`SimpleObject`, with a `ComplexObject`
/// for its relations and computed fields), the columns its fields read
/// ([`Columns`](crate::engine::rows::Columns)), its model read from a partial row
/// ([`PartialModel`]), the conversion from the model ([`FromColumn`]), [`Record`] and
/// [`Listable`].
///
/// Every column of the model is listed, in the model's order: a field with its own column's
/// name (`company_name: String`), a field reading another column (`assigned_to_id:
/// Option<Uuid> = assigned_to`), or a column not exposed (`hidden idempotency_key`). Adding a
/// column to a table means its migration, its entity and one line here.
///
/// ```ignore
/// record! {
///     /// A company the team sells to.
///     Client: clients {
///         /// Unique identifier.
///         id: Uuid,
///         /// Id of the user the client is assigned to.
///         assigned_to_id: Option<Uuid> = assigned_to,
///         hidden company_name_lower,
///     }
///     to_one [ToOne::new::<User>("assignedTo", "assigned_to")]
///     filter ClientFilter, order ClientOrderField, aggregate ClientAggregate
/// }
/// ```
#[macro_export]
macro_rules! record {
    (
        $(#[$attr:meta])*
        $name:ident: $module:ident {
            $($body:tt)*
        }
        to_one [$($to_one:expr),* $(,)?]
        filter $filter:ty, order $order:ty, aggregate $aggregate:ty $(,)?
    ) => {
        $crate::record!(@munch
            [$(#[$attr])*] $name $module [$($to_one),*] [$filter] [$order, $aggregate]
            [] [] $($body)*
        );
    };
    // A column not exposed.
    (@munch $head:tt $name:ident $module:ident $to_one:tt $filter:tt $order:tt
        [$($fields:tt)*] [$($columns:ident)*]
        hidden $column:ident, $($rest:tt)*
    ) => {
        $crate::record!(@munch $head $name $module $to_one $filter $order
            [$($fields)*] [$($columns)* $column] $($rest)*);
    };
    // A field reading a column of another name.
    (@munch $head:tt $name:ident $module:ident $to_one:tt $filter:tt $order:tt
        [$($fields:tt)*] [$($columns:ident)*]
        $(#[doc = $doc:literal])* $field:ident: $ty:ty = $column:ident, $($rest:tt)*
    ) => {
        $crate::record!(@munch $head $name $module $to_one $filter $order
            [$($fields)* ([$($doc)*] $field [$ty] $column)] [$($columns)* $column] $($rest)*);
    };
    // A field reading its own column.
    (@munch $head:tt $name:ident $module:ident $to_one:tt $filter:tt $order:tt
        [$($fields:tt)*] [$($columns:ident)*]
        $(#[doc = $doc:literal])* $field:ident: $ty:ty, $($rest:tt)*
    ) => {
        $crate::record!(@munch $head $name $module $to_one $filter $order
            [$($fields)* ([$($doc)*] $field [$ty] $field)] [$($columns)* $field] $($rest)*);
    };
    (@munch [$($attr:tt)*] $name:ident $module:ident [$($to_one:expr),*] [$filter:ty] [$order:ty, $aggregate:ty]
        [$(([$($doc:literal)*] $field:ident [$ty:ty] $column:ident))*] [$($columns:ident)*]
    ) => {
        #[derive(Debug, Clone, async_graphql::SimpleObject)]
        #[graphql(complex, serial)]
        $($attr)*
        pub struct $name {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        impl $crate::engine::rows::Columns for $name {
            fn column_index(name: &str) -> Option<usize> {
                Self::graphql_names().iter().position(|field| field == name)
            }

            fn need(name: &str) -> $crate::engine::rows::Need {
                use $crate::engine::rows::Need;
                const COLUMNS: &[&str] = &[$(stringify!($column)),*];
                if let Some(index) = Self::column_index(name) {
                    return COLUMNS.get(index).map_or(Need::All, |column| Need::Column(column));
                }
                // To-many relations (`relation_lists!`) read only the row's id.
                if <$name as $crate::engine::rows::ListRelations>::list_relation(name).is_some() {
                    Need::Id
                } else if name == "__typename" {
                    Need::Nothing
                } else {
                    Need::All
                }
            }

            fn column(&self, index: usize) -> async_graphql::Value {
                use $crate::engine::rows::ColumnValue;
                const COLUMNS: &[fn(&$name) -> async_graphql::Value] =
                    &[$(|r| r.$field.column_value()),*];
                COLUMNS.get(index).map_or(async_graphql::Value::Null, |read| read(self))
            }

            fn graphql_names() -> &'static [String] {
                // Worked out once: the fields' GraphQL names, in order.
                static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
                NAMES.get_or_init(|| {
                    vec![$($crate::engine::rows::graphql_name(stringify!($field))),*]
                })
            }

            #[cfg(test)]
            fn column_types() -> Vec<(String, String)> {
                fn type_of<T: async_graphql::OutputType>(_: impl Fn(&$name) -> &T) -> String {
                    T::qualified_type_name()
                }
                vec![$(
                    (
                        $crate::engine::rows::graphql_name(stringify!($field)),
                        type_of(|r: &$name| &r.$field),
                    ),
                )*]
            }
        }

        $crate::partial_model!($module::Model { $($columns),* });

        impl From<$module::Model> for $name {
            fn from(model: $module::Model) -> Self {
                use $crate::engine::record::FromColumn;
                $name {
                    $($field: FromColumn::from_column(model.$column),)*
                }
            }
        }

        impl $crate::engine::Record for $name {
            type Entity = $module::Entity;
            const TO_ONE: &'static [$crate::engine::joins::ToOne] = &[$($to_one),*];
            fn id(&self) -> uuid::Uuid {
                self.id
            }
        }

        impl $crate::engine::Listable for $name {
            const NAME: &'static str = stringify!($name);
            type Filter = $filter;
            type OrderField = $order;
            type Aggregate = $aggregate;
        }
    };
}
