//! What `aggregate` and `clientGroups` figure over clients.

crate::aggregates! {
    /// Figures over the clients of a list (every page). (Their contract totals add amounts of
    /// every currency: figure contracts instead, per currency.)
    ClientAggregate for Client {
        distinct ClientDistinctField {
            /// The assigned user.
            AssignedTo = "assigned_to",
            /// The status.
            Status = "status",
            /// The city.
            City = "city",
            /// The country.
            Country = "country",
        }
        number ClientNumberField {
            /// The number of contracts.
            ContractCount = "contract_count",
        }
        date_time ClientDateTimeField {
            /// When KYC was completed.
            KycCompletedAt = "kyc_completed_at",
            /// When the client was created.
            CreatedAt = "created_at",
            /// When the client was last changed.
            UpdatedAt = "updated_at",
        }
    }
}
