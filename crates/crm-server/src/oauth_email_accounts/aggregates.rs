//! What `aggregate` figures over connected mailboxes.

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
    }
}
