//! Root fields for `User`, and user management.

use async_graphql::{Context, Result};
use uuid::Uuid;

use super::inputs::{CreateUserInput, UpdateUserInput};
use super::types::User;
use crate::auth::resolvers::auth_service;
use crate::graphql::context::{db, viewer};

crate::root_queries! {
    /// Root query fields for users.
    UserQuery for User {
        /// One user by id, or null when there is none.
        user("Id of the user.");
        /// A page of users: filter, sort and paginate (Relay cursor connection).
        users;
        /// Groups of users with their figures (dashboards): keys, `having`, order, pages.
        groups user_groups;
    }
}

/// User management (admin only).
#[derive(Default)]
pub struct UserMutation;

#[async_graphql::Object]
impl UserMutation {
    /// Creates a user who can sign in with the given password.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user.")] input: CreateUserInput,
    ) -> Result<User> {
        Ok(super::service::create(db(ctx)?, viewer(ctx)?, input)
            .await?
            .into())
    }

    /// Changes a user's details, role or active flag. Deactivating a user ends their
    /// sessions; role changes apply to their next request.
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the user.")] id: Uuid,
        #[graphql(desc = "The fields to change.")] input: UpdateUserInput,
    ) -> Result<User> {
        let auth = auth_service(ctx)?;
        Ok(super::service::update(auth, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Deactivates a user: they cannot sign in, their sessions end and their API tokens stop
    /// working (until reactivated with `updateUser(isActive: true)`).
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the user.")] id: Uuid,
    ) -> Result<User> {
        let input = UpdateUserInput {
            is_active: Some(false),
            ..Default::default()
        };
        let auth = auth_service(ctx)?;
        Ok(super::service::update(auth, viewer(ctx)?, id, input)
            .await?
            .into())
    }

    /// Sets a user's password (when they forgot theirs); their sessions end.
    async fn reset_user_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Id of the user.")] id: Uuid,
        #[graphql(desc = "The new password (10 to 128 characters).", secret)] new_password: String,
    ) -> Result<User> {
        let auth = auth_service(ctx)?;
        Ok(
            super::service::reset_password(auth, viewer(ctx)?, id, new_password)
                .await?
                .into(),
        )
    }
}
