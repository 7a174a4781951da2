//! What `aggregate` figures over users.

use crate::engine::scalars::Date;

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
        group UserGroupField, keys UserGroupKeys, by UserGroupBy,
            measure UserGroupMeasure, having UserGroupCondition, order UserGroupOrder {
            /// The role.
            Role: role: entity::Role = KeySource::Column("role"),
            /// Whether the account is active.
            IsActive: is_active: bool = KeySource::Column("is_active"),
            /// The day of the last sign-in (in the grouping's time zone), or the first day of its period.
            LastLoginAt: last_login_at: Date = KeySource::Timestamp("last_login_at"),
            /// The day the account was created (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
