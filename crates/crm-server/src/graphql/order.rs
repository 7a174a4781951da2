//! Ordering, one implementation for every list: `orderBy: [{ field, direction, nulls }]`,
//! applied in the order given, then `id` as the tie-break so the order is total.

use async_graphql::{Enum, InputObject, InputType};
use sea_orm::sea_query::Expr;

use crate::graphql::cursor::KeyKind;
use crate::graphql::query::Scope;

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
    /// The expression, on the table aliased by `scope`.
    fn expr(self, scope: &Scope) -> Expr;
    /// The kind of value (for cursors).
    fn kind(self) -> KeyKind;
    /// Whether the value can be null.
    fn nullable(self) -> bool;
    /// A stable short name (for cursors).
    fn name(self) -> &'static str;
}

/// One sort key.
#[derive(InputObject, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(concrete(name = "UserOrder", params(crate::users::inputs::UserOrderField)))]
#[graphql(concrete(name = "ClientOrder", params(crate::clients::inputs::ClientOrderField)))]
#[graphql(concrete(
    name = "ContractOrder",
    params(crate::contracts::inputs::ContractOrderField)
))]
#[graphql(concrete(
    name = "PaymentOrder",
    params(crate::payments::inputs::PaymentOrderField)
))]
#[graphql(concrete(
    name = "DocumentOrder",
    params(crate::documents::inputs::DocumentOrderField)
))]
#[graphql(concrete(
    name = "ClientNoteOrder",
    params(crate::client_notes::inputs::ClientNoteOrderField)
))]
#[graphql(concrete(
    name = "OAuthEmailAccountOrder",
    params(crate::oauth_email_accounts::inputs::OAuthEmailAccountOrderField)
))]
pub struct OrderBy<F: SortField> {
    /// The field to sort by.
    pub field: F,
    /// Ascending (default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// Where nulls go (default: last). Ignored for fields that are never null.
    #[graphql(default)]
    pub nulls: NullsOrder,
}
