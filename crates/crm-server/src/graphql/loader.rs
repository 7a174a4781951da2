//! Batched loading by primary key, one generic implementation for the seven types.
//!
//! Each request gets one [`Loaders`] (see [`crate::app`]); relation fields and `…(id:)` root
//! fields call it, and async-graphql's `DataLoader` folds every key asked for at one level of
//! the query into a single `WHERE id IN (…)` statement.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{DatabaseConnection, EntityTrait, ExprTrait, QueryFilter};
use uuid::Uuid;

use crate::error::AppError;

/// An API type backed by one table row.
pub trait Record:
    From<<Self::Entity as EntityTrait>::Model> + Clone + Send + Sync + 'static
{
    /// The table.
    type Entity: EntityTrait + Default;
    /// The row's primary key.
    fn id(&self) -> Uuid;
}

/// The key that loads one `R` by id.
pub struct ById<R>(pub Uuid, PhantomData<fn() -> R>);

impl<R> ById<R> {
    pub fn new(id: Uuid) -> Self {
        ById(id, PhantomData)
    }
}

impl<R> Clone for ById<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for ById<R> {}
impl<R> PartialEq for ById<R> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<R> Eq for ById<R> {}
impl<R> Hash for ById<R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// The per-request loader behind every batched read.
pub struct CrmLoader {
    db: DatabaseConnection,
}

impl<R: Record> Loader<ById<R>> for CrmLoader {
    type Value = R;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ById<R>]) -> Result<HashMap<ById<R>, R>, Self::Error> {
        let rows = R::Entity::find()
            .filter(
                Expr::col((R::Entity::default(), Alias::new("id")))
                    .is_in(keys.iter().map(|key| key.0)),
            )
            .all(&self.db)
            .await
            .map_err(|err| Arc::new(AppError::from(err)))?;
        Ok(rows
            .into_iter()
            .map(|model| {
                let record = R::from(model);
                (ById::new(record.id()), record)
            })
            .collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    loader: DataLoader<CrmLoader>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection) -> Self {
        Loaders {
            loader: DataLoader::new(CrmLoader { db }, tokio::spawn),
        }
    }

    /// One row by id, batched with every other id asked for at the same time.
    pub async fn by_id<R: Record>(&self, id: Uuid) -> Result<Option<R>, AppError> {
        self.loader
            .load_one(ById::<R>::new(id))
            .await
            .map_err(|err| AppError::Internal(err.to_string()))
    }
}
