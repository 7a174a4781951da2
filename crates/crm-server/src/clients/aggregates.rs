//! What `aggregate` and `clientGroups` figure over clients.

use crate::engine::scalars::Date;
use uuid::Uuid;

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
        group ClientGroupField, keys ClientGroupKeys, by ClientGroupBy,
            measure ClientGroupMeasure, having ClientGroupCondition, order ClientGroupOrder {
            /// The status.
            Status: status: entity::ClientStatus = KeySource::Column("status"),
            /// The user the client is assigned to.
            AssignedTo: assigned_to: Uuid = KeySource::Column("assigned_to"),
            /// The city.
            City: city: String = KeySource::Column("city"),
            /// The country.
            Country: country: String = KeySource::Column("country"),
            /// Whether KYC is completed.
            KycCompleted: kyc_completed: bool = KeySource::Column("kyc_completed"),
            /// The day KYC was completed (in the grouping's time zone), or the first day of its period.
            KycCompletedAt: kyc_completed_at: Date = KeySource::Timestamp("kyc_completed_at"),
            /// The day of creation (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
