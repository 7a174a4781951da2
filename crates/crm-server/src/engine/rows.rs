//! Row objects resolved without a future per field.
//!
//! async-graphql resolves every selected field of every object through its own boxed future,
//! looked up by name, and every list item through another; on a nested page that machinery
//! cost more than the SQL. A row type's plain column fields are known from its `record!`
//! ([`Columns`]); [`RowList`] (a connection's `nodes`) and [`RowRef`] (an edge's
//! `node`) work the selection out once per list, copy the columns straight from each row, in
//! selection order, and send only the other fields (relations, computed fields) through the
//! type's resolvers, all rows' at once, so the loads of a whole level still batch into one
//! statement. A to-many relation that selects only `nodes` (the SPA's nested page) is resolved
//! for every parent of the list at once ([`resolve_list_relation`]): its arguments read once,
//! one plan for all the pages' rows, no connection object per parent. The result is the value
//! tree async-graphql would build: `CRM_READ_PATH=plain` takes async-graphql's own path
//! instead, and the differential tests (`tests/api/differential.rs`) hold both to the same
//! answers. Column fields do not pass through extensions' `resolve` hooks or field guards:
//! the schema registers no extension and the row types no guard (see `schema.rs`); one added
//! later must either run on the plain path only or be taught to [`plan_rows`].

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    ContainerType, ContextSelectionSet, OutputType, Positioned, ServerResult, TypeName, Value,
};
use futures_util::future::{BoxFuture, join_all};

use crate::engine::Record;
use crate::engine::loader::Loaders;
use crate::engine::{Connection, ListArgs, Listable, Prehashed, Shared};

/// A row type whose plain column fields can be read without their resolvers.
pub trait Columns: ContainerType + ListRelations + Sync {
    /// Which column the field `name` (its GraphQL name) reads; `None` for a field that needs
    /// its resolver.
    fn column_index(name: &str) -> Option<usize>;

    /// The value of column `index` as the field's resolver would return it.
    fn column(&self, index: usize) -> Value;

    /// What the field `name` (its GraphQL name) reads of the table row.
    fn need(name: &str) -> Need;

    /// The GraphQL names of the column fields, in the order of [`Columns::column`].
    fn graphql_names() -> &'static [String];

    /// The column fields (GraphQL name and type), for the test that holds them to the schema.
    #[cfg(test)]
    fn column_types() -> Vec<(String, String)>;
}

/// Resolves a to-many relation field for every row of a list at once (see
/// [`resolve_list_relation`]): `None` when it cannot, and each row's resolver must do it.
pub type ListHandler<R> = for<'a> fn(
    &'a ContextSelectionSet<'a>,
    &'a Positioned<Field>,
    &'a [&'a R],
    bool,
) -> BoxFuture<'a, Option<Vec<Value>>>;

/// The to-many relation fields of a row type (written by `relation_lists!`).
pub trait ListRelations: Sized {
    /// The handler of the to-many relation field `name` (its GraphQL name), if it is one.
    fn list_relation(_name: &str) -> Option<ListHandler<Self>> {
        None
    }
}

/// Whether the snake_case Rust name `snake` is the camelCase GraphQL name `camel`.
pub fn is_graphql_name(snake: &str, camel: &str) -> bool {
    let mut expected = snake.chars();
    let mut got = camel.chars();
    loop {
        match (expected.next(), got.next()) {
            (None, None) => return true,
            (Some('_'), Some(c)) => match expected.next() {
                Some(e) if e.to_ascii_uppercase() == c => {}
                _ => return false,
            },
            (Some(e), Some(c)) if e == c => {}
            _ => return false,
        }
    }
}

/// The camelCase GraphQL name of the snake_case Rust name `snake` (async-graphql's renaming
/// of field names).
pub fn graphql_name(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// What a field reads of its table row (see [`crate::engine::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// That column of the table.
    Column(&'static str),
    /// The row's id (to-many relations).
    Id,
    /// Nothing (`__typename`).
    Nothing,
    /// Possibly any column (to-one relations, computed fields, unknown names).
    All,
}

/// A column value as its field resolver returns it.
pub trait ColumnValue {
    fn column_value(&self) -> Value;
}

impl<T: ColumnValue> ColumnValue for Option<T> {
    fn column_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ColumnValue::column_value)
    }
}

/// Scalars: their `ScalarType::to_value`.
macro_rules! scalar_columns {
    ($($ty:ty),* $(,)?) => {$(
        impl ColumnValue for $ty {
            fn column_value(&self) -> Value {
                async_graphql::ScalarType::to_value(self)
            }
        }
    )*};
}
scalar_columns!(
    String,
    bool,
    i32,
    i64,
    crate::engine::scalars::Decimal,
    crate::engine::scalars::Date,
    crate::engine::scalars::DateTime,
);

/// Ids: as the `UUID` scalar writes them, encoded straight into a string of the right size.
impl ColumnValue for uuid::Uuid {
    fn column_value(&self) -> Value {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        Value::String(self.hyphenated().encode_lower(&mut text).to_owned())
    }
}

/// Enums: their GraphQL name, made once per value (each row's own copy was an allocation).
macro_rules! enum_columns {
    ($($ty:ty),* $(,)?) => {$(
        impl ColumnValue for $ty {
            fn column_value(&self) -> Value {
                static NAMES: std::sync::OnceLock<Vec<($ty, async_graphql::Name)>> =
                    std::sync::OnceLock::new();
                let names = NAMES.get_or_init(|| {
                    <$ty as async_graphql::resolver_utils::EnumType>::items()
                        .iter()
                        .map(|item| (item.value, async_graphql::Name::new(item.name)))
                        .collect()
                });
                match names.iter().find(|(value, _)| value == self) {
                    Some((_, name)) => Value::Enum(name.clone()),
                    None => async_graphql::resolver_utils::enum_value(*self),
                }
            }
        }
    )*};
}
enum_columns!(
    entity::ClientStatus,
    entity::ContractStatus,
    entity::PaymentStatus,
    entity::Role,
);

/// What to do for one selected field of every row.
enum Slot<'a, R> {
    Typename,
    Column(usize),
    /// A to-many relation selecting only `nodes`: resolved for all rows at once.
    List(&'a Positioned<Field>, ListHandler<R>),
    Resolver(&'a Positioned<Field>),
}

/// The selection on rows of type `R`, worked out once per list: response keys and slots;
/// `None` when async-graphql's own resolution must do it (a fragment on an interface or a
/// union, one response key selected twice, the plain read path).
fn plan_rows<'a, R: Columns>(ctx: &ContextSelectionSet<'a>) -> Option<Plan<'a, R>> {
    if crate::engine::loader::plain(ctx) {
        return None;
    }
    let type_name = R::type_name();
    let mut fields = Vec::new();
    if !collect_fields(ctx, &ctx.item.node, &type_name, &mut fields) {
        return None;
    }
    let mut plan: Vec<(async_graphql::Name, Slot<'a, R>)> = Vec::with_capacity(fields.len());
    for field in fields {
        let key = field.node.response_key().node.clone();
        if plan.iter().any(|(k, _)| *k == key) {
            return None;
        }
        let name = field.node.name.node.as_str();
        let plain = field.node.directives.is_empty();
        let slot = match (R::column_index(name), R::list_relation(name)) {
            _ if name == "__typename" => Slot::Typename,
            (Some(index), _) if plain => Slot::Column(index),
            (_, Some(handler)) if plain && nodes_only(&field.node.selection_set.node) => {
                Slot::List(field, handler)
            }
            _ => Slot::Resolver(field),
        };
        plan.push((key, slot));
    }
    // Every row's object has the same keys: hashed once into a template each row copies
    // (hashing each key of each row was 4 % of the nested page's instructions).
    let template = plan
        .iter()
        .map(|(key, _)| (key.clone(), Value::Null))
        .collect();
    Some(Plan {
        slots: plan,
        template,
    })
}

/// The selection on rows of type `R`: each response key with its slot, and an object with
/// those keys to copy for each row.
struct Plan<'a, R> {
    slots: Vec<(async_graphql::Name, Slot<'a, R>)>,
    template: IndexMap<async_graphql::Name, Value>,
}

/// Whether a connection's selection is `nodes { … }` (and maybe `__typename`), plain fields
/// only: the shape [`resolve_list_relation`] resolves for all parents at once.
fn nodes_only(set: &SelectionSet) -> bool {
    let mut nodes = 0;
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) if field.node.directives.is_empty() => {
                match field.node.name.node.as_str() {
                    "nodes" => nodes += 1,
                    "__typename" => {}
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    nodes == 1
}

/// Resolves the selection on each row: columns inline, to-many relations for all rows at
/// once, the other fields through the type's resolvers, all rows' at once (so their loads
/// batch). `indexed`: the rows are list items.
async fn resolve_rows<R: Columns>(
    ctx: &ContextSelectionSet<'_>,
    plan: &Plan<'_, R>,
    rows: &[&R],
    indexed: bool,
) -> Vec<Value> {
    let Plan {
        slots: plan,
        template,
    } = plan;
    let type_name = R::type_name();
    let mut objects = Vec::with_capacity(rows.len());
    let mut pending = Vec::new();
    let mut lists = Vec::new();
    for (slot_index, (_, slot)) in plan.iter().enumerate() {
        if let Slot::List(field, handler) = slot {
            lists.push((slot_index, *field, *handler));
        }
    }
    for (row_index, row) in rows.iter().enumerate() {
        let mut object = template.clone();
        for ((slot_index, (_, slot)), (_, value)) in plan.iter().enumerate().zip(object.iter_mut())
        {
            match slot {
                Slot::Typename => *value = Value::String(type_name.to_string()),
                Slot::Column(index) => *value = row.column(*index),
                Slot::List(..) => {}
                Slot::Resolver(field) => pending.push((row_index, slot_index, *field)),
            }
        }
        objects.push(object);
    }
    // Every load of this level must be waited for together, so that they batch.
    let (mut resolved, listed) = futures_util::future::join(
        resolve_each(ctx, &pending, rows, indexed),
        join_all(
            lists
                .iter()
                .map(|&(_, field, handler)| handler(ctx, field, rows, indexed)),
        ),
    )
    .await;
    let mut fallback = Vec::new();
    for (&(slot_index, field, _), values) in lists.iter().zip(listed) {
        match values {
            Some(values) => {
                for (object, value) in objects.iter_mut().zip(values) {
                    if let Some((_, slot)) = object.get_index_mut(slot_index) {
                        *slot = value;
                    }
                }
            }
            // Not resolvable for all rows at once (an argument or the load failed): each
            // row's resolver does it, and reports the error as it would.
            None => fallback.extend((0..rows.len()).map(|row| (row, slot_index, field))),
        }
    }
    if !fallback.is_empty() {
        resolved.extend(resolve_each(ctx, &fallback, rows, indexed).await);
        pending.extend(fallback);
    }
    let mut failed = Vec::new();
    for (&(row_index, slot_index, _), result) in pending.iter().zip(resolved) {
        match result {
            Ok(value) => {
                if let Some((_, slot)) = objects[row_index].get_index_mut(slot_index) {
                    *slot = value.unwrap_or_default();
                }
            }
            // As async-graphql does: the error is reported and the field left out.
            Err(error) => {
                ctx.add_error(error);
                failed.push((row_index, slot_index));
            }
        }
    }
    failed.sort_unstable();
    for (row_index, slot_index) in failed.into_iter().rev() {
        objects[row_index].shift_remove_index(slot_index);
    }
    objects
        .into_iter()
        .map(|object| {
            if object.is_empty() {
                Value::Null
            } else {
                Value::Object(object)
            }
        })
        .collect()
}

/// Runs the resolver of each `(row, slot, field)`, all at once.
async fn resolve_each<R: Columns>(
    ctx: &ContextSelectionSet<'_>,
    pending: &[(usize, usize, &Positioned<Field>)],
    rows: &[&R],
    indexed: bool,
) -> Vec<ServerResult<Option<Value>>> {
    join_all(pending.iter().map(|&(row_index, _, field)| async move {
        let ctx_row = if indexed {
            ctx.with_index(row_index)
        } else {
            ctx.clone()
        };
        let ctx_field = ctx_row.with_field(field);
        rows[row_index].resolve_field(&ctx_field).await
    }))
    .await
}

/// A to-many relation (`Client.contracts`) selecting only `nodes`, for every parent row at
/// once: the arguments are read and the selected columns worked out once, every parent's page
/// comes from one batched load, and all pages' rows are resolved with one plan. Per parent,
/// the value async-graphql would build (`{ nodes: [...] }`), with the same error paths. `None`
/// (the caller then resolves each parent the usual way) when an argument does not parse or
/// the load fails.
pub async fn resolve_list_relation<'a, P, T>(
    ctx: &'a ContextSelectionSet<'a>,
    field: &'a Positioned<Field>,
    parents: &'a [&'a P],
    indexed: bool,
    parent_col: &'static str,
) -> Option<Vec<Value>>
where
    P: Record,
    T: Listable,
{
    let ctx_field = ctx.with_field(field);
    let args = Arc::new(Prehashed::new(ListArgs::<T::Filter, T::OrderField> {
        first: ctx_field.param_value("first", None).ok()?.1,
        after: ctx_field.param_value("after", None).ok()?.1,
        last: ctx_field.param_value("last", None).ok()?.1,
        before: ctx_field.param_value("before", None).ok()?.1,
        filter: ctx_field
            .param_value::<Option<Shared<T::Filter>>>("filter", None)
            .ok()?
            .1
            .map(|f| f.0),
        order_by: crate::engine::order::sort_keys::<T::OrderField>(
            ctx_field.param_value("orderBy", None).ok()?.1,
        ),
    }));
    let columns = crate::engine::columns::selected::<T>(&ctx_field);
    let loaders = ctx.data::<Loaders>().ok()?;
    let pages = loaders
        .pages_of::<T>(parent_col, parents.iter().map(|p| p.id()), args, columns)
        .await
        .ok()?;
    let nodes_field = field
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(f) if f.node.name.node == "nodes" => Some(f),
            _ => None,
        })?;
    let plan = plan_rows::<T>(&ctx_field.with_selection_set(&nodes_field.node.selection_set))?;
    let connection_type = <Connection<T> as TypeName>::type_name();
    Some(
        join_all(pages.iter().enumerate().map(|(index, page)| {
            let (plan, connection_type) = (&plan, &connection_type);
            async move {
                let ctx_parent = if indexed {
                    ctx.with_index(index)
                } else {
                    ctx.clone()
                };
                let ctx_field = ctx_parent.with_field(field);
                let ctx_connection = ctx_field.with_selection_set(&field.node.selection_set);
                let ctx_nodes = ctx_connection.with_field(nodes_field);
                let ctx_rows = ctx_nodes.with_selection_set(&nodes_field.node.selection_set);
                let rows: Vec<&T> = page.nodes().collect();
                let mut nodes = Some(Value::List(
                    resolve_rows(&ctx_rows, plan, &rows, true).await,
                ));
                let mut object = IndexMap::with_capacity(field.node.selection_set.node.items.len());
                for selection in &field.node.selection_set.node.items {
                    if let Selection::Field(f) = &selection.node {
                        let value = if f.node.name.node == "nodes" {
                            nodes.take().unwrap_or_default()
                        } else {
                            Value::String(connection_type.to_string())
                        };
                        object.insert(f.node.response_key().node.clone(), value);
                    }
                }
                Value::Object(object)
            }
        }))
        .await,
    )
}

/// The fields selected on a row of type `type_name`, fragments flattened; `false` when a
/// fragment's condition names another type (an interface or union).
fn collect_fields<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    type_name: &str,
    out: &mut Vec<&'a Positioned<Field>>,
) -> bool {
    for selection in &set.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                out.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                match ctx.query_env.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) => (
                        Some(&fragment.node.type_condition),
                        &fragment.node.selection_set,
                    ),
                    None => return false,
                }
            }
            Selection::InlineFragment(fragment) => (
                fragment.node.type_condition.as_ref(),
                &fragment.node.selection_set,
            ),
        };
        if condition.is_some_and(|c| c.node.on.node.as_str() != type_name)
            || !collect_fields(ctx, &inner.node, type_name, out)
        {
            return false;
        }
    }
    true
}

/// A list of rows (`[R!]!`, a connection's `nodes`), resolved by [`resolve_rows`].
pub struct RowList<'a, R>(pub Vec<&'a R>);

impl<R: Columns> OutputType for RowList<'_, R> {
    fn type_name() -> Cow<'static, str> {
        <Vec<R> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<R> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<R> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match plan_rows::<R>(ctx) {
            Some(plan) => Ok(Value::List(resolve_rows(ctx, &plan, &self.0, true).await)),
            None => resolve_list(ctx, field, self.0.iter().copied(), Some(self.0.len())).await,
        }
    }
}

/// One row (`R!`, an edge's `node`), resolved by [`resolve_rows`].
pub struct RowRef<'a, R>(pub &'a R);

impl<R: Columns> OutputType for RowRef<'_, R> {
    fn type_name() -> Cow<'static, str> {
        R::type_name()
    }

    fn qualified_type_name() -> String {
        R::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        R::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match plan_rows::<R>(ctx) {
            Some(plan) => Ok(resolve_rows(ctx, &plan, &[self.0], false)
                .await
                .pop()
                .unwrap_or_default()),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};

    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    use super::Need;
    use crate::engine::Listable;
    use crate::engine::columns::PartialModel;

    /// Each column a row type reads is a field of that type in the schema, without arguments
    /// and of the same type, and reads a column of the table.
    pub(crate) fn check_columns<R: Listable>(schema: &ServiceDocument) {
        let table: Vec<&str> = <R::Entity as EntityTrait>::Column::iter()
            .map(|c| c.as_str())
            .collect();
        let model = <<R::Entity as EntityTrait>::Model as PartialModel>::COLUMNS;
        assert_eq!(
            model,
            table.as_slice(),
            "partial_model! of {}",
            R::table().name()
        );
        let name = R::type_name();
        let fields = schema
            .definitions
            .iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) if ty.node.name.node == *name => match &ty.node.kind
                {
                    TypeKind::Object(object) => Some(&object.fields),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or_else(|| panic!("no object type {name}"));
        let columns = R::column_types();
        assert!(!columns.is_empty());
        for (index, (column, ty)) in columns.into_iter().enumerate() {
            let field = fields
                .iter()
                .find(|f| f.node.name.node == column.as_str())
                .unwrap_or_else(|| panic!("{name}.{column} is not in the schema"));
            assert!(
                field.node.arguments.is_empty(),
                "{name}.{column} takes arguments"
            );
            assert_eq!(field.node.ty.node.to_string(), ty, "{name}.{column}");
            assert_eq!(R::column_index(&column), Some(index));
            match R::need(&column) {
                Need::Column(read) => assert!(table.contains(&read), "{name}.{column}: {read}"),
                other => panic!("{name}.{column} needs {other:?}"),
            }
        }
        assert_eq!(R::column_index("noSuchField"), None);
        assert_eq!(R::need("noSuchField"), Need::All);
        assert_eq!(R::need("__typename"), Need::Nothing);
        // The to-many relations (connection fields) read only the id; nothing else does. Other
        // connection fields (`changes`, the audit trail) have their own resolver and read the
        // whole row.
        for field in fields {
            let field_name = field.node.name.node.as_str();
            let connection = field.node.ty.node.to_string().ends_with("Connection!");
            let need = R::need(field_name);
            if need == Need::Id {
                assert!(connection, "{name}.{field_name} reads only the id");
            } else if connection {
                assert_eq!(need, Need::All, "{name}.{field_name}");
                assert!(
                    R::list_relation(field_name).is_none(),
                    "{name}.{field_name}"
                );
            }
        }
    }
}
