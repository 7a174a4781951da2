//! What `aggregate` figures over connected mailboxes.

use crate::engine::scalars::Date;
use uuid::Uuid;

crate::aggregates! {
    /// Figures over the mailboxes of a list (every page).
    OAuthEmailAccountAggregate for OAuthEmailAccount {
        distinct OAuthEmailAccountDistinctField {
            /// The owner.
            UserId = "user_id",
            /// The provider.
            Provider = "provider",
        }
        date_time OAuthEmailAccountDateTimeField {
            /// When the access token expires.
            TokenExpiresAt = "token_expires_at",
            /// When the mailbox was connected.
            CreatedAt = "created_at",
            /// When it was last changed.
            UpdatedAt = "updated_at",
        }
        group OAuthEmailAccountGroupField, keys OAuthEmailAccountGroupKeys, by OAuthEmailAccountGroupBy,
            measure OAuthEmailAccountGroupMeasure, having OAuthEmailAccountGroupCondition, order OAuthEmailAccountGroupOrder {
            /// The owner.
            UserId: user_id: Uuid = KeySource::Column("user_id"),
            /// The provider.
            Provider: provider: String = KeySource::Column("provider"),
            /// The day it was connected (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
