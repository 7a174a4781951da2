//! What `aggregate` figures over users.

crate::aggregates! {
    /// Figures over the users of a list (every page).
    UserAggregate for User {
        distinct UserDistinctField {
            /// The role.
            Role = "role",
            /// Whether the account is active.
            IsActive = "is_active",
        }
        date_time UserDateTimeField {
            /// The last sign-in.
            LastLoginAt = "last_login_at",
            /// When the account was created.
            CreatedAt = "created_at",
            /// When the account was last changed.
            UpdatedAt = "updated_at",
        }
    }
}
