//! What `aggregate` and `contractGroups` figure over contracts.

use crate::engine::aggregate::Currency;

crate::aggregates! {
    /// Figures over the contracts of a list (every page), per currency for amounts.
    ContractAggregate for Contract {
        currency Currency::Column("currency");
        distinct ContractDistinctField {
            /// The client.
            ClientId = "client_id",
            /// The commercial in charge.
            CommercialId = "commercial_id",
            /// The status.
            Status = "status",
            /// The currency.
            Currency = "currency",
        }
        money ContractMoneyField {
            /// The contract amount.
            Amount = "amount",
            /// The sum of its completed payments.
            PaidAmount = "paid_amount",
            /// What is still owed (zero for drafts and cancelled contracts).
            OutstandingAmount = "outstanding_amount",
        }
        date ContractDateField {
            /// The start date.
            StartDate = "start_date",
            /// The end date.
            EndDate = "end_date",
            /// The date of the latest completed payment.
            LastPaymentDate = "last_payment_date",
        }
        date_time ContractDateTimeField {
            /// When the contract was signed.
            SignedAt = "signed_at",
            /// When the contract was created.
            CreatedAt = "created_at",
            /// When the contract was last changed.
            UpdatedAt = "updated_at",
        }
    }
}
