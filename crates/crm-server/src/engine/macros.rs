//! The macros that write a type's list fields: its to-many relations (`relation_lists!`) and
//! its root queries (`root_queries!`), each with the standard list arguments.

/// Writes a type's `#[ComplexObject]` impl whose to-many relations are connection fields with
/// the standard list arguments (`first after last before filter orderBy`), each loaded for
/// the whole level by [`crate::engine::loader::Loaders::children`]. Other relation and
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
                    filter: Option<$crate::engine::Shared<<$target as $crate::engine::Listable>::Filter>>,
                    #[graphql(desc = "Sort keys, applied in order (then by id).")]
                    order_by: Option<Vec<<<$target as $crate::engine::Listable>::OrderField as $crate::engine::order::SortField>::Input>>,
                ) -> async_graphql::Result<$crate::engine::Connection<$target>> {
                    let filter = filter.map(|f| f.0);
                    let order_by = $crate::engine::order::sort_keys(order_by);
                    let args = $crate::engine::ListArgs { first, after, last, before, filter, order_by };
                    let loaders = $crate::engine::loaders(ctx)?;
                    if !$crate::engine::connection::rows_selected(ctx) {
                        // Only `totalCount` / `aggregate`: the arguments checked, no page read.
                        return Ok(loaders.unpaged_children::<$target>($col, self.id, args)?);
                    }
                    let columns = $crate::engine::columns::selected::<$target>(ctx);
                    Ok(loaders.children::<$target>($col, self.id, args, columns).await?)
                }
            )*
            $($rest)*
        }

        impl $crate::engine::rows::ListRelations for $ty {
            fn list_relation(name: &str) -> Option<$crate::engine::rows::ListHandler<Self>> {
                $(
                    if $crate::engine::rows::is_graphql_name(stringify!($field), name) {
                        return Some(|ctx, field, rows, indexed| {
                            Box::pin($crate::engine::rows::resolve_list_relation::<$ty, $target>(
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
            $($(#[doc = $groups_doc:literal])* groups $groups:ident;)?
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
                Ok($crate::engine::loaders(ctx)?.one::<$ty>(ctx, id).await?)
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
                filter: Option<$crate::engine::Shared<<$ty as $crate::engine::Listable>::Filter>>,
                #[graphql(desc = "Sort keys, applied in order (then by id).")]
                order_by: Option<Vec<<<$ty as $crate::engine::Listable>::OrderField as $crate::engine::order::SortField>::Input>>,
            ) -> async_graphql::Result<$crate::engine::Connection<$ty>> {
                let filter = filter.map(|f| f.0);
                let order_by = $crate::engine::order::sort_keys(order_by);
                let args = $crate::engine::ListArgs { first, after, last, before, filter, order_by };
                if !$crate::engine::connection::rows_selected(ctx) {
                    // Only `totalCount` / `aggregate`: the arguments checked, no page read.
                    return Ok($crate::engine::loaders(ctx)?.unpaged::<$ty>(args)?);
                }
                // Counted in the page's own statement when the query asks for it.
                let count = ctx.look_ahead().field("totalCount").exists();
                let columns = $crate::engine::columns::selected::<$ty>(ctx);
                Ok($crate::engine::loaders(ctx)?.list::<$ty>(args, columns, count).await?)
            }

            $(
            $(#[doc = $groups_doc])*
            #[allow(clippy::too_many_arguments)]
            async fn $groups(
                &self,
                ctx: &async_graphql::Context<'_>,
                #[graphql(desc = "The keys to group by (1 to 4), in order.")]
                by: Vec<<<$ty as $crate::engine::Listable>::Aggregate as $crate::engine::groups::Grouping>::By>,
                #[graphql(desc = "Only rows matching this filter.")]
                filter: Option<$crate::engine::Shared<<$ty as $crate::engine::Listable>::Filter>>,
                #[graphql(desc = "Only groups whose figures pass every condition.")]
                having: Option<Vec<<<$ty as $crate::engine::Listable>::Aggregate as $crate::engine::groups::Grouping>::Having>>,
                #[graphql(desc = "Sort keys, applied in order (then by the keys grouped by).")]
                order_by: Option<Vec<<<$ty as $crate::engine::Listable>::Aggregate as $crate::engine::groups::Grouping>::Order>>,
                #[graphql(desc = "Return the first n groups (default 20).")] first: Option<i32>,
                #[graphql(desc = "Return groups after this cursor.")] after: Option<String>,
                #[graphql(desc = "The time zone dates and times are read in (an IANA name such as \"Europe/Paris\"; default: the server's `CRM_TIME_ZONE`).")]
                time_zone: Option<String>,
            ) -> async_graphql::Result<$crate::engine::groups::GroupConnection<$ty>> {
                Ok($crate::engine::groups::root_groups::<$ty>(
                    ctx, by, filter.map(|f| f.0), having, order_by, first, after, time_zone,
                ).await?)
            }
            )?
        }
    };
}
