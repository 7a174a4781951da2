//! Ordering, one implementation for every list: `orderBy: [{ field, direction, nulls }]`,
//! applied in the order given, then `id` as the tie-break so the order is total.

use async_graphql::{Enum, InputType};
use sea_orm::sea_query::Expr;

use crate::engine::cursor::KeyKind;
use crate::engine::scope::Scope;

/// Sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderDirection {
    /// Smallest first (A→Z, oldest first).
    #[default]
    Asc,
    /// Largest first (Z→A, newest first).
    Desc,
}

/// Where rows whose sort value is null go.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NullsOrder {
    /// Nulls before every value.
    First,
    /// Nulls after every value (the default).
    #[default]
    Last,
}

/// A sortable field of one type: the SQL expression it sorts by.
pub trait SortField: InputType + Copy + Eq + std::hash::Hash + Send + Sync + 'static {
    /// Its sort key input (written by [`order_input!`](crate::order_input)).
    type Input: InputType + Into<OrderBy<Self>>;
    /// The expression, on the table aliased by `scope`.
    fn expr(self, scope: &Scope) -> Expr;
    /// The kind of value (for cursors).
    fn kind(self) -> KeyKind;
    /// Whether the value can be null.
    fn nullable(self) -> bool;
    /// A stable short name (for cursors): the variant's name.
    fn name(self) -> &'static str;
    /// Whether it is the id (the tie-break every order ends with).
    fn is_id(self) -> bool {
        self.name() == "Id"
    }
}

/// One sort key, as the engine applies it (from the type's order input, see
/// [`order_input!`](crate::order_input)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderBy<F: SortField> {
    /// The field to sort by.
    pub field: F,
    pub direction: OrderDirection,
    pub nulls: NullsOrder,
}

/// Declares a type's sort key input: `order_input!(ClientOrder of ClientOrderField)`, with
/// `field`, `direction` and `nulls`.
#[macro_export]
macro_rules! order_input {
    ($name:ident $(as $graphql_name:literal)? of $field:ty) => {
        /// One sort key.
        #[derive(async_graphql::InputObject, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $(#[graphql(name = $graphql_name)])?
        pub struct $name {
            /// The field to sort by.
            pub field: $field,
            /// Ascending (default) or descending.
            #[graphql(default)]
            pub direction: $crate::engine::order::OrderDirection,
            /// Where nulls go (default: last). Ignored for fields that are never null.
            #[graphql(default)]
            pub nulls: $crate::engine::order::NullsOrder,
        }

        impl From<$name> for $crate::engine::order::OrderBy<$field> {
            fn from(key: $name) -> Self {
                $crate::engine::order::OrderBy {
                    field: key.field,
                    direction: key.direction,
                    nulls: key.nulls,
                }
            }
        }
    };
}

/// Declares a type's sortable fields, each once: its GraphQL enum (`ClientOrderField`), its
/// sort key input (`ClientOrder`, see [`order_input!`](crate::order_input)) and how each
/// field sorts: the kind of its value (for cursors), `nullable` when it can be null, and its
/// SQL expression on the table aliased by the scope named after `on`.
///
/// ```ignore
/// sort_fields! {
///     /// Fields clients can be sorted by.
///     ClientOrderField, input ClientOrder, on s {
///         /// The e-mail address.
///         Email: Text nullable = s.col("email"),
///         /// The number of contracts.
///         ContractCount: Int = computed::contract_count(s),
///     }
/// }
/// ```
#[macro_export]
macro_rules! sort_fields {
    (
        $(#[$attr:meta])*
        $name:ident, input $input:ident $(as $input_name:literal)?, on $s:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident: $kind:ident $($nullable:ident)? = $expr:expr
            ),* $(,)?
        }
    ) => {
        #[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $(#[$attr])*
        pub enum $name {
            $($(#[doc = $field_doc])* $field,)*
        }

        $crate::order_input!($input $(as $input_name)? of $name);

        impl $crate::engine::order::SortField for $name {
            type Input = $input;

            fn expr(self, $s: &$crate::engine::Scope) -> sea_orm::sea_query::Expr {
                match self {
                    $(Self::$field => $expr,)*
                }
            }

            fn kind(self) -> $crate::engine::cursor::KeyKind {
                match self {
                    $(Self::$field => $crate::engine::cursor::KeyKind::$kind,)*
                }
            }

            fn nullable(self) -> bool {
                match self {
                    $(Self::$field => $crate::sort_fields!(@nullable $($nullable)?),)*
                }
            }

            fn name(self) -> &'static str {
                match self {
                    $(Self::$field => stringify!($field),)*
                }
            }
        }
    };
    (@nullable) => {
        false
    };
    (@nullable nullable) => {
        true
    };
}

/// The sort keys of a list argument, as the engine applies them.
pub fn sort_keys<F: SortField>(keys: Option<Vec<F::Input>>) -> Option<Vec<OrderBy<F>>> {
    keys.map(|keys| keys.into_iter().map(Into::into).collect())
}
