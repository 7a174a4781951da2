//! Root fields for `User`.

use super::types::User;

crate::root_queries! {
    /// Root query fields for users.
    UserQuery for User {
        /// One user by id, or null when there is none.
        user("Id of the user.");
        /// A page of users: filter, sort and paginate (Relay cursor connection).
        users;
    }
}
