//! Stored totals: contracts' paid amount, last payment date and outstanding amount are kept
//! by the database in the transaction of every payment written, without touching the
//! contract's `updatedAt`; `check-totals` finds and repairs drift. (Every test also ends
//! with that check: see `helpers::run_checked`.)

use entity::ContractStatus;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::fixtures;

const CONTRACT: &str = "query($id: UUID!) { contract(id: $id) { paidAmount outstandingAmount lastPaymentDate updatedAt } }";

test_both! {
    async fn payments_keep_the_contract_totals_exact_and_leave_updated_at_alone(app) {
        let client = fixtures::client(&app.db, "Totals", None).await;
        let contract = fixtures::contract(&app.db, client.id, "T-1", "1000.00", ContractStatus::Active).await;
        let read = || async { app.data(CONTRACT, json!({ "id": contract.id })).await["contract"].clone() };
        let before = read().await;
        assert_eq!(before["paidAmount"], "0.00");
        assert_eq!(before["outstandingAmount"], "1000.00");
        assert_eq!(before["lastPaymentDate"], json!(null));

        let paid = app
            .data(
                "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }",
                json!({ "input": { "contractId": contract.id, "amount": "250.00", "paymentDate": "2026-05-02" } }),
            )
            .await;
        let payment = paid["recordPayment"]["id"].clone();
        let after = read().await;
        assert_eq!(after["paidAmount"], "250.00");
        assert_eq!(after["outstandingAmount"], "750.00");
        assert_eq!(after["lastPaymentDate"], "2026-05-02");
        assert_eq!(after["updatedAt"], before["updatedAt"], "a payment is not a change of the contract");

        app.data(
            "mutation($id: UUID!) { updatePayment(id: $id, input: { amount: \"300.00\" }) { id } }",
            json!({ "id": payment }),
        )
        .await;
        assert_eq!(read().await["outstandingAmount"], "700.00");
        app.data("mutation($id: UUID!) { refundPayment(id: $id) { id } }", json!({ "id": payment }))
            .await;
        let refunded = read().await;
        assert_eq!(refunded["paidAmount"], "0.00");
        assert_eq!(refunded["lastPaymentDate"], json!(null));

        // The collections screen reads the stored figure: owed contracts, largest first.
        let other = fixtures::contract(&app.db, client.id, "T-2", "5000.00", ContractStatus::Active).await;
        let draft = fixtures::contract(&app.db, client.id, "T-3", "9000.00", ContractStatus::Draft).await;
        let owed = app
            .data(
                "{ contracts(first: 25, filter: { status: { eq: active }, outstandingAmount: { gt: \"0\" } },
                   orderBy: [{ field: OUTSTANDING_AMOUNT, direction: DESC }]) { totalCount nodes { id outstandingAmount } } }",
                json!({}),
            )
            .await;
        assert_eq!(owed["contracts"]["totalCount"], 2);
        assert_eq!(
            owed["contracts"]["nodes"],
            json!([
                { "id": other.id, "outstandingAmount": "5000.00" },
                { "id": contract.id, "outstandingAmount": "1000.00" },
            ])
        );
        let drafts = app
            .data("query($id: UUID!) { contract(id: $id) { outstandingAmount } }", json!({ "id": draft.id }))
            .await;
        assert_eq!(drafts["contract"]["outstandingAmount"], "0.00");
        let client_owes = app
            .data("query($id: UUID!) { client(id: $id) { outstandingAmount } }", json!({ "id": client.id }))
            .await;
        assert_eq!(client_owes["client"]["outstandingAmount"], "6000.00");
    }
}

test_both! {
    async fn check_totals_finds_and_repairs_drift(app) {
        let client = fixtures::client(&app.db, "Drift", None).await;
        let contract = fixtures::contract(&app.db, client.id, "D-1", "1000.00", ContractStatus::Active).await;
        fixtures::payment(&app.db, &contract, "400.00", entity::PaymentStatus::Completed).await;
        assert!(crm_server::totals::check(&app.db, false).await.unwrap().is_empty());

        // A write that bypasses the triggers.
        app.db
            .execute_raw(Statement::from_string(
                app.db_backend(),
                "UPDATE contracts SET paid_amount = 1, last_payment_date = NULL",
            ))
            .await
            .unwrap();
        let drifts = crm_server::totals::check(&app.db, false).await.unwrap();
        assert_eq!(drifts.len(), 1, "{drifts:?}");
        assert_eq!(drifts[0].contract_id, contract.id);
        assert_eq!(drifts[0].paid.to_string(), "400");
        assert_eq!(crm_server::totals::check(&app.db, true).await.unwrap().len(), 1);
        assert!(crm_server::totals::check(&app.db, false).await.unwrap().is_empty());
        let read = app.data(CONTRACT, json!({ "id": contract.id })).await;
        assert_eq!(read["contract"]["paidAmount"], "400.00");
        assert_eq!(read["contract"]["outstandingAmount"], "600.00");
    }
}
