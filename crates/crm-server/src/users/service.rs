//! User management (admins), and the bootstrap of the first admin.

use entity::{Role, users};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait,
};
use uuid::Uuid;

use super::inputs::{CreateUserInput, UpdateUserInput};
use crate::auth::service::{end_sessions, set_password};
use crate::auth::{Action, AuthService, Viewer, password};
use crate::db::{begin_write, check_unchanged, for_update, now, set_given};
use crate::error::{AppError, AppResult};
use crate::validate::{email, required_text};

/// A user name: 3 to 50 letters, digits, `.`, `_` or `-`.
fn username(field: &str, value: &str) -> AppResult<String> {
    let value = required_text(field, value, 50)?;
    let valid = value.chars().count() >= 3
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` has 3 to 50 letters, digits, `.`, `_` or `-`"),
        ));
    }
    Ok(value)
}

fn sign_in_email(field: &str, value: &str) -> AppResult<String> {
    email(field, Some(value))?
        .map(|e| e.to_lowercase())
        .ok_or_else(|| AppError::bad_input(field, format!("`{field}` must not be blank")))
}

/// A new user, as given (checked, password hashed).
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password: String,
}

impl TryFrom<CreateUserInput> for NewUser {
    type Error = AppError;

    fn try_from(input: CreateUserInput) -> AppResult<Self> {
        Ok(NewUser {
            email: sign_in_email("email", &input.email)?,
            username: username("username", &input.username)?,
            first_name: required_text("firstName", &input.first_name, 100)?,
            last_name: required_text("lastName", &input.last_name, 100)?,
            role: input.role.unwrap_or(Role::Commercial),
            password: input.password,
        })
    }
}

/// Inserts a user (no permission check: callers decide).
pub async fn insert(db: &DatabaseConnection, user: NewUser) -> AppResult<users::Model> {
    password::check_strength("password", &user.password)?;
    let hash = password::hash(user.password).await?;
    let at = now();
    Ok(users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(user.email),
        username: Set(user.username),
        first_name: Set(user.first_name),
        last_name: Set(user.last_name),
        role: Set(user.role),
        password_hash: Set(hash),
        is_active: Set(true),
        last_login_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?)
}

#[tracing::instrument(skip(db, input))]
pub async fn create(
    db: &DatabaseConnection,
    viewer: Viewer,
    input: CreateUserInput,
) -> AppResult<users::Model> {
    viewer.require(Action::ManageUsers)?;
    let user = insert(db, NewUser::try_from(input)?).await?;
    tracing::info!(user_id = %user.id, role = ?user.role, "user created");
    Ok(user)
}

#[tracing::instrument(skip(auth, input))]
pub async fn update(
    auth: &AuthService,
    viewer: Viewer,
    id: Uuid,
    input: UpdateUserInput,
) -> AppResult<users::Model> {
    viewer.require(Action::ManageUsers)?;
    let email = input
        .email
        .map(|e| sign_in_email("email", &e))
        .transpose()?;
    let username = input
        .username
        .map(|u| username("username", &u))
        .transpose()?;
    let first_name = input
        .first_name
        .map(|v| required_text("firstName", &v, 100))
        .transpose()?;
    let last_name = input
        .last_name
        .map(|v| required_text("lastName", &v, 100))
        .transpose()?;
    if id == viewer.user_id
        && (input.is_active == Some(false) || input.role.is_some_and(|r| r != viewer.role))
    {
        return Err(AppError::rule(
            Some(if input.is_active == Some(false) {
                "isActive"
            } else {
                "role"
            }),
            "SELF_LOCKOUT",
            "you cannot deactivate yourself or change your own role: ask another admin",
        ));
    }
    let txn = begin_write(auth.db()).await?;
    let current = for_update::<users::Entity>(&txn, viewer, id, "id", "user").await?;
    check_unchanged(current.updated_at, input.expected_updated_at)?;
    let deactivating = current.is_active && input.is_active == Some(false);
    let mut active: users::ActiveModel = current.into();
    set_given(&mut active.email, email);
    set_given(&mut active.username, username);
    set_given(&mut active.first_name, first_name);
    set_given(&mut active.last_name, last_name);
    set_given(&mut active.role, input.role);
    set_given(&mut active.is_active, input.is_active);
    active.updated_at = Set(now());
    let user = active.update(&txn).await?;
    if deactivating {
        end_sessions(&txn, id, None).await?;
    }
    crate::live::feed::credentials_changed(&txn, id).await?;
    txn.commit().await?;
    auth.forget_credentials();
    tracing::info!(user_id = %id, "user updated");
    Ok(user)
}

/// Sets a user's password (admins); their sessions end.
#[tracing::instrument(skip(auth, new_password))]
pub async fn reset_password(
    auth: &AuthService,
    viewer: Viewer,
    id: Uuid,
    new_password: String,
) -> AppResult<users::Model> {
    viewer.require(Action::ManageUsers)?;
    password::check_strength("newPassword", &new_password)?;
    let user = set_password(auth, viewer, id, new_password, None).await?;
    tracing::info!(user_id = %id, "password reset");
    Ok(user)
}

/// Whether the database has no user yet.
pub async fn none_yet(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(users::Entity::find().count(db).await? == 0)
}
