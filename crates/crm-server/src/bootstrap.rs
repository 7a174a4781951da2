//! The first accounts: `create-admin` and `api-token` on the command line, and the
//! development admin an empty database gets in development mode.

use clap::Args;
use entity::{Role, users};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::auth::tokens::opaque_token;
use crate::error::{AppError, AppResult};
use crate::users::service::{NewUser, insert, none_yet};

/// The development admin's e-mail address (development mode, empty database only).
pub const DEV_ADMIN_EMAIL: &str = "admin@crm.local";
/// The development admin's password: printed at start and in the README; never in production.
pub const DEV_ADMIN_PASSWORD: &str = "crm-dev-admin-password";

/// `create-admin`: the first (or another) administrator.
#[derive(Args, Debug, Clone)]
pub struct CreateAdminArgs {
    /// Sign-in e-mail address.
    #[arg(long)]
    pub email: String,
    /// Sign-in name (default: the part of the e-mail before `@`).
    #[arg(long)]
    pub username: Option<String>,
    /// Given name.
    #[arg(long, default_value = "Admin")]
    pub first_name: String,
    /// Family name.
    #[arg(long, default_value = "User")]
    pub last_name: String,
    /// The password (10 to 128 characters). Default: a random one, printed once.
    #[arg(long, env = "CRM_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// `api-token`: a personal API token for a user, printed on stdout (for scripts and the
/// benchmark: `TOKEN=$(crm-server api-token --email … --name ci)`).
#[derive(Args, Debug, Clone)]
pub struct ApiTokenArgs {
    /// The user's e-mail address.
    #[arg(long, conflicts_with = "user_id", required_unless_present = "user_id")]
    pub email: Option<String>,
    /// The user's id.
    #[arg(long)]
    pub user_id: Option<Uuid>,
    /// What the token is for.
    #[arg(long, default_value = "cli")]
    pub name: String,
    /// Days until it stops working (default: never).
    #[arg(long)]
    pub expires_in_days: Option<u32>,
}

/// A user name from an e-mail address: its allowed characters before `@`, padded to the
/// minimum length (`b@example.com` → `b-admin`).
fn default_username(email: &str) -> String {
    let local: String = email
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(44)
        .collect();
    if local.len() < 3 {
        format!("{local}-admin")
    } else {
        local
    }
}

fn random_password() -> AppResult<String> {
    // 256 random bits, URL-safe: well within the 128-character limit.
    opaque_token("")
}

/// Creates an admin; returns it and the password when one was generated. The development
/// admin's published password is refused.
pub async fn create_admin(
    db: &DatabaseConnection,
    args: CreateAdminArgs,
) -> AppResult<(users::Model, Option<String>)> {
    if args.password.as_deref() == Some(DEV_ADMIN_PASSWORD) {
        return Err(AppError::bad_input(
            "password",
            "this is the development admin's published password: choose another",
        ));
    }
    insert_admin(db, args).await
}

/// Whether the development admin can still sign in with its published password: production
/// mode refuses to serve until it is changed or the account disabled.
pub async fn development_admin_usable(db: &DatabaseConnection) -> AppResult<bool> {
    let Some(user) = crate::auth::service::user_by_email(db, DEV_ADMIN_EMAIL).await? else {
        return Ok(false);
    };
    Ok(user.is_active
        && crate::auth::password::verify(DEV_ADMIN_PASSWORD.to_owned(), Some(user.password_hash))
            .await)
}

async fn insert_admin(
    db: &DatabaseConnection,
    args: CreateAdminArgs,
) -> AppResult<(users::Model, Option<String>)> {
    let (password, generated) = match args.password {
        Some(password) => (password, false),
        None => (random_password()?, true),
    };
    let username = args
        .username
        .unwrap_or_else(|| default_username(&args.email));
    let user = insert(
        db,
        NewUser::try_from(crate::users::inputs::CreateUserInput {
            email: args.email,
            username,
            first_name: args.first_name,
            last_name: args.last_name,
            role: Some(Role::Admin),
            password: password.clone(),
        })?,
    )
    .await?;
    Ok((user, generated.then_some(password)))
}

/// Issues an API token for an existing, active user.
pub async fn api_token(db: &DatabaseConnection, args: ApiTokenArgs) -> AppResult<String> {
    let user = match (&args.email, args.user_id) {
        (_, Some(id)) => users::Entity::find_by_id(id).one(db).await?,
        (Some(email), None) => crate::auth::service::user_by_email(db, email).await?,
        (None, None) => None,
    }
    .ok_or_else(|| AppError::not_found("email", "no such user"))?;
    if !user.is_active {
        return Err(AppError::bad_input("email", "this account is disabled"));
    }
    let expires = args
        .expires_in_days
        .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
    let (token, _) =
        crate::auth::service::issue_api_token(db, user.id, &args.name, expires).await?;
    Ok(token)
}

/// Development mode: an empty database gets an admin with known credentials, printed once.
pub async fn development_admin(db: &DatabaseConnection) -> AppResult<()> {
    if !none_yet(db).await? {
        return Ok(());
    }
    insert_admin(
        db,
        CreateAdminArgs {
            email: DEV_ADMIN_EMAIL.to_owned(),
            username: Some("admin".to_owned()),
            first_name: "Development".to_owned(),
            last_name: "Admin".to_owned(),
            password: Some(DEV_ADMIN_PASSWORD.to_owned()),
        },
    )
    .await?;
    tracing::warn!(
        email = DEV_ADMIN_EMAIL,
        password = DEV_ADMIN_PASSWORD,
        "empty database: created the development admin (development mode only; change its \
         password or create your own admin with `crm-server create-admin`)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_user_names_are_valid() {
        assert_eq!(default_username("jane.doe@example.com"), "jane.doe");
        assert_eq!(default_username("b@example.com"), "b-admin");
        assert_eq!(default_username("é+x@example.com"), "x-admin");
    }
}
