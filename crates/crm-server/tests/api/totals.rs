//! Stored totals: contracts' paid amount, last payment date and outstanding amount are kept
//! by the database in the transaction of every payment written, without touching the
//! contract's `updatedAt`; `check-totals` finds and repairs drift. (Every test also ends
//! with that check: see `helpers::run_checked`.)

use entity::ContractStatus;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::fixtures;

/// What `check-totals` reports, a line per drifted total (repairing them with `fix`).
async fn drift_lines(app: &crate::helpers::TestApp, fix: bool) -> Vec<String> {
    let drifts = crm_server::totals::check(&app.db, fix).await.unwrap();
    drifts.iter().map(ToString::to_string).collect()
}

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
        assert_eq!(
            drift_lines(&app, false).await,
            [
                format!("contracts {}: paid_amount is 1 stored, 400 recomputed", contract.id),
                format!("contracts {}: last_payment_date is none stored, 2026-04-15 recomputed", contract.id),
            ]
        );
        assert_eq!(crm_server::totals::check(&app.db, true).await.unwrap().len(), 2);
        assert!(crm_server::totals::check(&app.db, false).await.unwrap().is_empty());
        let read = app.data(CONTRACT, json!({ "id": contract.id })).await;
        assert_eq!(read["contract"]["paidAmount"], "400.00");
        assert_eq!(read["contract"]["outstandingAmount"], "600.00");

        // The clients' totals, checked against their contracts.
        app.db
            .execute_raw(Statement::from_string(
                app.db_backend(),
                "UPDATE clients SET contract_count = 7, outstanding_amount = 0",
            ))
            .await
            .unwrap();
        assert_eq!(
            drift_lines(&app, true).await,
            [
                format!("clients {}: contract_count is 7 stored, 1 recomputed", client.id),
                format!("clients {}: outstanding_amount is 0 stored, 600 recomputed", client.id),
            ]
        );
        assert!(crm_server::totals::check(&app.db, false).await.unwrap().is_empty());
        let owes = app
            .data("query($id: UUID!) { client(id: $id) { contractCount outstandingAmount } }", json!({ "id": client.id }))
            .await;
        assert_eq!(owes["client"], json!({ "contractCount": 1, "outstandingAmount": "600.00" }));
    }
}

const CLIENT: &str = "query($id: UUID!) { client(id: $id) { contractCount totalContractValue outstandingAmount updatedAt } }";

test_both! {
    async fn contracts_and_payments_keep_the_client_totals_exact_and_leave_updated_at_alone(app) {
        let rep = fixtures::user(&app.db, "Rep", entity::Role::Commercial).await;
        let client = fixtures::client(&app.db, "Client totals", None).await;
        let read = || async { app.data(CLIENT, json!({ "id": client.id })).await["client"].clone() };
        let figures = |v: &serde_json::Value| {
            (v["contractCount"].clone(), v["totalContractValue"].clone(), v["outstandingAmount"].clone())
        };
        let before = read().await;
        assert_eq!(figures(&before), (json!(0), json!("0.00"), json!("0.00")));

        let create = "mutation($input: CreateContractInput!) { createContract(input: $input) { id } }";
        let first = app
            .data(create, json!({ "input": { "clientId": client.id, "contractNumber": "CT-1", "title": "Main", "amount": "1000.00" } }))
            .await["createContract"]["id"]
            .clone();
        assert_eq!(figures(&read().await), (json!(1), json!("0.00"), json!("0.00")), "a draft is not owed");

        app.data("mutation($id: UUID!) { signContract(id: $id) { id } }", json!({ "id": first })).await;
        assert_eq!(figures(&read().await), (json!(1), json!("1000.00"), json!("1000.00")));

        let payment = app
            .data(
                "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }",
                json!({ "input": { "contractId": first, "amount": "400.00", "paymentDate": "2026-05-02" } }),
            )
            .await["recordPayment"]["id"]
            .clone();
        let paid = read().await;
        assert_eq!(figures(&paid), (json!(1), json!("1000.00"), json!("600.00")));
        assert_eq!(paid["updatedAt"], before["updatedAt"], "a payment is not a change of the client");

        app.data(
            "mutation($id: UUID!) { updateContract(id: $id, input: { amount: \"1500.00\" }) { id } }",
            json!({ "id": first }),
        )
        .await;
        assert_eq!(figures(&read().await), (json!(1), json!("1500.00"), json!("1100.00")));

        let second = app
            .data(create, json!({ "input": { "clientId": client.id, "contractNumber": "CT-2", "title": "Extra", "amount": "200.00" } }))
            .await["createContract"]["id"]
            .clone();
        app.data("mutation($id: UUID!) { signContract(id: $id) { id } }", json!({ "id": second })).await;
        assert_eq!(figures(&read().await), (json!(2), json!("1700.00"), json!("1300.00")));
        app.data("mutation($id: UUID!) { cancelContract(id: $id) { id } }", json!({ "id": second })).await;
        assert_eq!(figures(&read().await), (json!(2), json!("1500.00"), json!("1100.00")), "a cancelled contract is not owed");

        let third = app
            .data(create, json!({ "input": { "clientId": client.id, "contractNumber": "CT-3", "title": "Dropped", "amount": "50.00" } }))
            .await["createContract"]["id"]
            .clone();
        assert_eq!(read().await["contractCount"], 3);
        app.data("mutation($id: UUID!) { deleteContract(id: $id) }", json!({ "id": third })).await;
        assert_eq!(read().await["contractCount"], 2);

        app.data("mutation($id: UUID!) { refundPayment(id: $id) { id } }", json!({ "id": payment })).await;
        assert_eq!(figures(&read().await), (json!(2), json!("1500.00"), json!("1500.00")));
        app.data("mutation($id: UUID!) { completeContract(id: $id) { id } }", json!({ "id": first })).await;
        assert_eq!(figures(&read().await), (json!(2), json!("1500.00"), json!("1500.00")), "a completed contract stays owed");

        // Reassigning moves the client with its totals.
        app.data(
            "mutation($id: UUID!, $user: UUID) { assignClient(id: $id, userId: $user) { id } }",
            json!({ "id": client.id, "user": rep.id }),
        )
        .await;
        let assigned = read().await;
        assert_eq!(figures(&assigned), (json!(2), json!("1500.00"), json!("1500.00")));

        // Filters and ordering read the stored figures.
        let other = fixtures::client(&app.db, "Owes less", None).await;
        fixtures::contract(&app.db, other.id, "L-1", "10.00", ContractStatus::Active).await;
        let owing = app
            .data(
                "{ clients(filter: { outstandingAmount: { gt: \"0\" } }, orderBy: [{ field: OUTSTANDING_AMOUNT, direction: DESC }]) {
                   totalCount nodes { id outstandingAmount } } }",
                json!({}),
            )
            .await;
        assert_eq!(owing["clients"]["totalCount"], 2);
        assert_eq!(
            owing["clients"]["nodes"],
            json!([
                { "id": client.id, "outstandingAmount": "1500.00" },
                { "id": other.id, "outstandingAmount": "10.00" },
            ])
        );
    }
}

test_both! {
    async fn concurrent_payments_on_one_contract_add_up(app) {
        let client = fixtures::client(&app.db, "Busy", None).await;
        let contract = fixtures::contract(&app.db, client.id, "C-1", "10000.00", ContractStatus::Active).await;
        let other = fixtures::contract(&app.db, client.id, "C-2", "500.00", ContractStatus::Active).await;
        let record = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { id } }";
        // 16 payments on one contract and 8 on another of the same client, all at once.
        let payments = (0..24).map(|i| {
            let (on, day) = if i < 16 { (contract.id, i + 1) } else { (other.id, i - 15) };
            app.gql(
                record,
                json!({ "input": { "contractId": on, "amount": "12.34", "paymentDate": format!("2026-05-{day:02}") } }),
            )
        });
        for response in futures_util::future::join_all(payments).await {
            assert!(response.get("errors").is_none(), "{response}");
        }
        let read = app.data(CONTRACT, json!({ "id": contract.id })).await;
        assert_eq!(read["contract"]["paidAmount"], "197.44");
        assert_eq!(read["contract"]["outstandingAmount"], "9802.56");
        assert_eq!(read["contract"]["lastPaymentDate"], "2026-05-16");
        let read = app.data(CONTRACT, json!({ "id": other.id })).await;
        assert_eq!(read["contract"]["paidAmount"], "98.72");
        let owes = app.data(CLIENT, json!({ "id": client.id })).await;
        assert_eq!(owes["client"]["outstandingAmount"], "10203.84");
        assert!(crm_server::totals::check(&app.db, false).await.unwrap().is_empty());
    }
}
