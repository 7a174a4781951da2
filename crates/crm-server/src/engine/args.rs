//! The arguments of a list field (`first after last before filter orderBy`) as the engine
//! keeps them: filters behind a shared pointer, relation arguments hashed once.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::engine::order::{OrderBy, SortField};
use crate::engine::record::Listable;

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
/// its box: those copies dominated a lookup by id. Its size is
/// checked before it is parsed ([`filters::check_size`](crate::engine::filters::check_size)).
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
            crate::engine::filters::check_size(value)
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
