//! Root fields for `OAuthEmailAccount`.

use super::types::OAuthEmailAccount;

crate::root_queries! {
    /// Root query fields for connected mailboxes.
    OAuthEmailAccountQuery for OAuthEmailAccount {
        /// One connected mailbox by id, or null when there is none.
        oauth_email_account("Id of the connected mailbox.");
        /// A page of connected mailboxes: filter, sort and paginate (Relay cursor connection).
        oauth_email_accounts;
    }
}
