//! `crm-server seed`: deterministic demo data that follows the API's rules.

use crm_server::seed::{SeedArgs, seed};
use serde_json::Value;

fn small() -> SeedArgs {
    SeedArgs {
        users: 12,
        clients: 40,
        contracts_per_client: 2,
        payments_per_contract: 3,
        notes: 30,
        documents: 20,
        email_accounts: 5,
        seed: 7,
        password: None,
    }
}

test_both! {
    async fn demo_data_is_deterministic_and_consistent(app) {
        seed(&app.db, &small()).await.unwrap();
        let data = app
            .data(
                "{ users { totalCount } clients(first: 3, orderBy: [{ field: ID }]) { totalCount nodes { id companyName } }
                   clientNotes { totalCount } documents { totalCount } oauthEmailAccounts { totalCount }
                   overpaid: contracts(filter: { outstandingAmount: { lt: \"0\" } }) { totalCount }
                   unsignedPaid: payments(filter: { contract: { status: { in: [draft, cancelled] } } }) { totalCount } }",
                Value::Null,
            )
            .await;
        assert_eq!(data["users"]["totalCount"], 12 + 1, "the demo users and the test admin");
        assert_eq!(data["clients"]["totalCount"], 40);
        assert_eq!(data["clientNotes"]["totalCount"], 30);
        assert_eq!(data["documents"]["totalCount"], 20);
        assert_eq!(data["oauthEmailAccounts"]["totalCount"], 5);
        assert_eq!(data["overpaid"]["totalCount"], 0);
        assert_eq!(data["unsignedPaid"]["totalCount"], 0);

        // Same flags, same rows (ids included), on any backend.
        let other = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite).await.unwrap();
        seed(&other.db, &small()).await.unwrap();
        let again = other
            .data("{ clients(first: 3, orderBy: [{ field: ID }]) { nodes { id companyName } } }", Value::Null)
            .await;
        assert_eq!(again["clients"]["nodes"], data["clients"]["nodes"]);

        // A second seed is refused rather than mixed with existing data.
        assert!(seed(&app.db, &small()).await.is_err());
    }
}
