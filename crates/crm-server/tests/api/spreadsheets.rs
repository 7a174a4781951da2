//! CSV export (`GET /export/{name}.csv`): the GraphQL list's rows, streamed, access rules
//! applied, values exact, formulas neutralised.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use entity::{ContractStatus, PaymentStatus, Role};
use serde_json::{Value, json};

use crate::helpers::{TestApp, fixtures, send_raw};

/// `GET uri` with `token`: the status, the content type and the body as text.
async fn get(app: &TestApp, uri: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, headers, body) = send_raw(&app.router, request.body(Body::empty()).unwrap()).await;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

/// The rows of a CSV text, each a map from header to cell.
fn rows(text: &str, delimiter: u8) -> Vec<serde_json::Map<String, Value>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(name, cell)| (name.to_owned(), Value::from(cell)))
                .collect()
        })
        .collect()
}

/// A GraphQL value as the export writes it.
fn as_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn uri(name: &str, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/export/{name}.csv?{query}")
}

test_both! {
    /// Every row and column of the export is the GraphQL list's, in its order, with awkward
    /// text kept whole and formulas neutralised.
    async fn an_export_is_the_graphql_list(app) {
        let (rep, token) = app.user("rep", Role::Commercial, None).await;
        let names = ["Société Générale, Lyon", "=HYPERLINK(\"http://evil\")", "Quote \"Q\" Ltd", "Line\nBreak", "+33 trick", "-minus", "@at"];
        for (index, name) in names.iter().enumerate() {
            let client = fixtures::client(&app.db, name, (index % 2 == 0).then_some(rep)).await;
            let contract = fixtures::contract(&app.db, client.id, &format!("X-{index}"), "1234.50", ContractStatus::Active).await;
            fixtures::payment(&app.db, &contract, "100.05", PaymentStatus::Completed).await;
        }
        let listed = app.data(
            "{ clients(first: 100) { nodes { id companyName email status kycCompleted assignedToId assignedTo { email } \
               contractCount totalContractValue outstandingAmount createdAt updatedAt } } }",
            json!({}),
        ).await;
        let nodes = listed["clients"]["nodes"].as_array().unwrap();
        let (status, kind, text) = get(&app, "/export/clients.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        assert!(text.starts_with("id,company_name,email,phone,address,city,postal_code,country,status,"), "{text}");
        let exported = rows(&text, b',');
        assert_eq!(exported.len(), nodes.len());
        for (row, node) in exported.iter().zip(nodes) {
            assert_eq!(row["id"], node["id"]);
            let name = node["companyName"].as_str().unwrap();
            let expected = if name.starts_with(['=', '+', '-', '@']) { format!("'{name}") } else { name.to_owned() };
            assert_eq!(row["company_name"], expected.as_str());
            assert_eq!(row["status"], as_cell(&node["status"]).as_str());
            assert_eq!(row["kyc_completed"], as_cell(&node["kycCompleted"]).as_str());
            assert_eq!(row["assigned_to_id"], as_cell(&node["assignedToId"]).as_str());
            assert_eq!(row["assigned_to_email"], as_cell(&node["assignedTo"]["email"]).as_str());
            assert_eq!(row["contract_count"], as_cell(&node["contractCount"]).as_str());
            assert_eq!(row["total_contract_value"], "1234.50");
            assert_eq!(row["outstanding_amount"], "1134.45");
            assert_eq!(row["created_at"], node["createdAt"]);
            assert_eq!(row["updated_at"], node["updatedAt"]);
        }
        assert!(exported.iter().any(|row| row["company_name"] == "Line\nBreak"));
        assert!(exported.iter().any(|row| row["company_name"] == "Quote \"Q\" Ltd"));

        // Payments: amounts exact, the contract's number and currency.
        let (status, _, text) = get(&app, "/export/payments.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let payments = rows(&text, b',');
        assert_eq!(payments.len(), names.len());
        assert!(payments.iter().all(|row| row["amount"] == "100.05" && row["currency"] == "EUR"), "{text}");
        assert!(payments.iter().all(|row| row["contract_number"].as_str().unwrap().starts_with("X-")));

        // A commercial exports their own portfolio only.
        let (_, _, text) = get(&app, "/export/contracts.csv", Some(&token)).await;
        let theirs = rows(&text, b',');
        assert_eq!(theirs.len(), 4, "{text}");
        let mine = app.gql_as(Some(&token), "{ contracts(first: 100) { nodes { id } } }", json!({})).await;
        let ids: Vec<&Value> = mine["data"]["contracts"]["nodes"].as_array().unwrap().iter().map(|node| &node["id"]).collect();
        assert_eq!(theirs.iter().map(|row| &row["id"]).collect::<Vec<_>>(), ids);
    }
}

test_both! {
    /// `filter` and `orderBy` are the list's; `delimiter` and `bom` shape the file.
    async fn an_export_takes_the_list_s_filter_and_order(app) {
        for (name, city) in [("Alpha", "Lyon"), ("Beta", "Paris"), ("Gamma", "Lyon"), ("Delta", "Lyon")] {
            let client = fixtures::client(&app.db, name, None).await;
            sea_orm::EntityTrait::update(entity::clients::ActiveModel {
                id: sea_orm::ActiveValue::Unchanged(client.id),
                city: sea_orm::ActiveValue::Set(Some(city.to_owned())),
                ..Default::default()
            })
            .exec(&app.db)
            .await
            .unwrap();
        }
        let filter = r#"{"city":{"eq":"Lyon"}}"#;
        let order = r#"[{"field":"COMPANY_NAME","direction":"DESC"}]"#;
        let (status, _, text) = get(&app, &uri("clients", &[("filter", filter), ("orderBy", order), ("delimiter", "semicolon"), ("bom", "true")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
        let names: Vec<String> = rows(text, b';').iter().map(|row| row["company_name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["Gamma", "Delta", "Alpha"]);
    }
}

test_both! {
    /// More rows than a page: every one, once, in the list's order.
    async fn an_export_reads_every_page(app) {
        let mut ids = Vec::new();
        for index in 0..1203 {
            ids.push(fixtures::client(&app.db, &format!("Bulk {index:04}"), None).await.id.to_string());
        }
        let (status, _, text) = get(&app, "/export/clients.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::OK);
        let exported: Vec<String> = rows(&text, b',').iter().map(|row| row["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(exported, ids, "creation order, no row twice");
    }
}

test_both! {
    /// Bad requests are refused before anything is sent, with a code and the parameter.
    async fn a_bad_export_request_is_refused_with_its_reason(app) {
        let refused = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
        let (status, _, text) = get(&app, "/export/clients.csv", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused(&text)["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

        let (status, _, text) = get(&app, "/export/users.csv", Some(&app.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("filter", "{nope")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = &refused(&text)["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{text}");
        assert_eq!(error["extensions"]["field"], "filter", "{text}");
        assert!(error["extensions"]["requestId"].is_string(), "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("filter", r#"{"city":{"eq":5}}"#)]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(refused(&text)["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("orderBy", r#"[{"field":"SHOE_SIZE"}]"#)]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");

        let (status, _, text) = get(&app, &uri("clients", &[("first", "10")]), Some(&app.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("unknown parameter `first`"), "{text}");
    }
}

/// `POST /import/{name}?{query}` with `csv` as `token`: the status and the JSON answer.
async fn import(
    app: &TestApp,
    name: &str,
    query: &str,
    token: &str,
    csv: impl Into<Vec<u8>>,
) -> (StatusCode, Value) {
    import_on(&app.router, name, query, token, csv).await
}

async fn import_on(
    router: &axum::Router,
    name: &str,
    query: &str,
    token: &str,
    csv: impl Into<Vec<u8>>,
) -> (StatusCode, Value) {
    let request = Request::post(format!("/import/{name}?{query}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(csv.into()))
        .unwrap();
    let (status, _, body) = send_raw(router, request).await;
    (
        status,
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&body).into_owned())),
    )
}

async fn count(app: &TestApp, list: &str) -> i64 {
    app.data(&format!("{{ {list} {{ totalCount }} }}"), json!({}))
        .await[list]["totalCount"]
        .as_i64()
        .unwrap()
}

test_both! {
    /// Clients: headers in any case, `;`, a byte order mark; each row checked by the mutation's
    /// rules and reported with its line and column; all or nothing, row by row, or a dry run.
    async fn a_client_import_reports_every_bad_row_and_writes_as_asked(app) {
        fixtures::client(&app.db, "Existing SA", None).await;
        sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE clients SET email = 'old@acme.fr' WHERE company_name = 'Existing SA'").await.unwrap();
        let file = "\u{feff}Company Name;E-mail;City;status\n\
                    Nouvelle Société;new@acme.fr;Lyon;ACTIVE\n\
                    Existing SA renamed;old@acme.fr;Paris;\n\
                    Bad Mail;not-an-email;Nice;\n\
                    ;nameless@acme.fr;Nice;\n\
                    Odd Status;odd@acme.fr;Nice;sleeping\n";
        let before = count(&app, "clients").await;

        // All or nothing: three bad rows, nothing written.
        let (status, report) = import(&app, "clients", "", &app.token, file).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
        assert_eq!(report["committed"], false);
        assert_eq!((report["rows"].as_u64(), report["created"].as_u64(), report["updated"].as_u64(), report["failed"].as_u64()), (Some(5), Some(1), Some(1), Some(3)), "{report}");
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors[0]["line"], 4, "{report}");
        assert_eq!(errors[0]["column"], "email");
        assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
        assert_eq!(errors[1]["line"], 5);
        assert_eq!(errors[1]["column"], "company_name");
        assert_eq!(errors[2]["line"], 6);
        assert_eq!(errors[2]["column"], "status");
        assert_eq!(count(&app, "clients").await, before);

        // A dry run of the rows mode: the same report, nothing written.
        let (status, dry) = import(&app, "clients", "mode=rows&dryRun=true", &app.token, file).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((dry["dryRun"].clone(), dry["committed"].clone(), dry["errors"].clone()), (json!(true), json!(false), report["errors"].clone()));
        assert_eq!(count(&app, "clients").await, before);

        // Row by row: the good rows are written, the bad ones reported.
        let (status, report) = import(&app, "clients", "mode=rows", &app.token, file).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["committed"], true);
        assert_eq!(count(&app, "clients").await, before + 1);
        let found = app.data("{ clients(filter: { email: { in: [\"new@acme.fr\", \"old@acme.fr\"] } }, orderBy: [{ field: COMPANY_NAME }]) { nodes { companyName city status } } }", json!({})).await;
        assert_eq!(found["clients"]["nodes"], json!([
            // An empty status leaves it as it was.
            { "companyName": "Existing SA renamed", "city": "Paris", "status": "active" },
            { "companyName": "Nouvelle Société", "city": "Lyon", "status": "active" },
        ]));
    }
}

test_both! {
    /// Contracts by the client's e-mail, upserted on their number; payments by the contract's
    /// number, made idempotent by their key; the payment rules apply to each row.
    async fn contracts_and_payments_import_by_reference_and_upsert(app) {
        fixtures::client(&app.db, "Ref Client", None).await;
        sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE clients SET email = 'ref@client.fr', kyc_completed = true WHERE company_name = 'Ref Client'").await.unwrap();
        fixtures::client(&app.db, "No KYC", None).await;
        sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE clients SET email = 'nokyc@client.fr', kyc_completed = false WHERE company_name = 'No KYC'").await.unwrap();
        let file = "contract_number,client_email,title,amount,currency,start_date,status\n\
                    C-100,ref@client.fr,Maintenance,1200.00,EUR,2026-01-01,draft\n\
                    C-101,nobody@client.fr,Ghost,10.00,EUR,,\n\
                    C-102,ref@client.fr,Bad amount,12.345,EUR,,\n\
                    C-103,nokyc@client.fr,Unsigned,50.00,EUR,,active\n";
        let (status, report) = import(&app, "contracts", "mode=rows", &app.token, file).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["created"], 1, "{report}");
        assert_eq!(report["errors"][0]["line"], 3);
        assert_eq!(report["errors"][0]["column"], "client_email");
        assert_eq!(report["errors"][0]["code"], "NOT_FOUND");
        assert_eq!(report["errors"][1]["column"], "amount", "{report}");
        // Signing needs the client's KYC: the row is refused, its contract not created.
        assert_eq!(report["errors"][2]["line"], 5);
        assert_eq!(report["errors"][2]["column"], "status", "{report}");
        assert_eq!(report["errors"][2]["reason"], "KYC_INCOMPLETE", "{report}");
        assert_eq!(count(&app, "contracts").await, 1);

        // Again with another amount, signed: updated, not duplicated.
        let (_, report) = import(&app, "contracts", "", &app.token, "contract_number,title,amount,status,signed_at\nC-100,Maintenance+,1500.00,ACTIVE,2026-01-15T09:00:00Z\n").await;
        assert_eq!((report["updated"].clone(), report["committed"].clone()), (json!(1), json!(true)), "{report}");
        let contract = app.data("{ contracts(filter: { contractNumber: { eq: \"C-100\" } }) { nodes { title amount status signedAt } } }", json!({})).await;
        assert_eq!(contract["contracts"]["nodes"][0], json!({ "title": "Maintenance+", "amount": "1500.00", "status": "active", "signedAt": "2026-01-15T09:00:00Z" }));

        let payments = "contract_number,amount,payment_date,payment_method,idempotency_key\n\
                        C-100,500.00,2026-02-01,transfer,bank-1\n\
                        C-100,400.00,2026-03-01,transfer,bank-2\n\
                        C-100,900.00,2026-04-01,transfer,bank-3\n";
        let (status, report) = import(&app, "payments", "mode=rows", &app.token, payments).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["created"], 2, "{report}");
        assert_eq!(report["errors"][0]["line"], 4);
        assert_eq!(report["errors"][0]["reason"], "OVERPAYMENT", "{report}");
        // The same file again: the recorded payments are left as they are.
        let (_, again) = import(&app, "payments", "mode=rows", &app.token, payments).await;
        assert_eq!((again["created"].clone(), again["unchanged"].clone()), (json!(0), json!(2)), "{again}");
        assert_eq!(count(&app, "payments").await, 2);
        let paid = app.data("{ contracts(filter: { contractNumber: { eq: \"C-100\" } }) { nodes { paidAmount } } }", json!({})).await;
        assert_eq!(paid["contracts"]["nodes"][0]["paidAmount"], "900.00");
    }
}

test_both! {
    /// A commercial imports into their own portfolio only; an exported file imports back as it
    /// is; a bad file is refused before any row.
    async fn imports_keep_to_the_portfolio_and_refuse_bad_files(app) {
        let (rep, rep_token) = app.user("importer", Role::Commercial, None).await;
        let other = fixtures::client(&app.db, "Someone Else's", None).await;
        let contract = fixtures::contract(&app.db, other.id, "OTHER-1", "100.00", ContractStatus::Active).await;

        let (status, report) = import(&app, "clients", "", &rep_token, "company_name,email\nMy Prospect,mine@rep.fr\n").await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let mine = app.data("{ clients(filter: { email: { eq: \"mine@rep.fr\" } }) { nodes { assignedToId } } }", json!({})).await;
        assert_eq!(mine["clients"]["nodes"][0]["assignedToId"], rep.to_string());

        let (status, report) = import(&app, "payments", "", &rep_token, "contract_number,amount\nOTHER-1,10.00\n").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
        assert_eq!(report["errors"][0]["code"], "NOT_FOUND", "{report}");
        let (_, report) = import(&app, "contracts", "", &rep_token, "contract_number,client_email,title,amount\nR-1,mine@rep.fr,Mine,10.00\n").await;
        assert_eq!(report["errors"][0]["code"], "FORBIDDEN", "{report}");
        assert_eq!(contract.contract_number, "OTHER-1");

        // Round trip: the export, imported back, changes nothing and creates nothing.
        let (_, _, exported) = get(&app, "/export/clients.csv", Some(&app.token)).await;
        let before = count(&app, "clients").await;
        let (status, report) = import(&app, "clients", "", &app.token, exported).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!((report["created"].clone(), report["failed"].clone()), (json!(0), json!(0)), "{report}");
        assert_eq!(count(&app, "clients").await, before);

        // Refused files.
        let refused = |report: &Value, field: &str| {
            assert_eq!(report["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{report}");
            assert_eq!(report["errors"][0]["extensions"]["field"], field, "{report}");
        };
        let (status, report) = import(&app, "clients", "", &app.token, "company_name,shoe_size\nX,42\n").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        refused(&report, "header");
        assert!(report["errors"][0]["message"].as_str().unwrap().contains("shoe_size"), "{report}");
        let (_, report) = import(&app, "payments", "", &app.token, "amount\n10.00\n").await;
        refused(&report, "header");
        let (status, report) = import(&app, "contracts", "", &app.token, "contract_number,title\nNEW-1,Y\n").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(report["errors"][0]["column"], "client_id", "{report}");
        let (_, report) = import(&app, "clients", "", &app.token, b"company_name\nBad \xff byte\n".to_vec()).await;
        refused(&report, "body");
        let (_, report) = import(&app, "clients", "", &app.token, "").await;
        refused(&report, "body");
        let (status, _) = import(&app, "users", "", &app.token, "email\nx@y.z\n").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = import(&app, "clients", "", "not-a-token", "company_name\nX\n").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, report) = import(&app, "clients", "mode=all", &app.token, "company_name\nX\n").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        refused(&report, "mode");

        // One endless cell (an unclosed quote): refused once past a row's limit.
        let endless = format!("company_name\n\"{}\n", "x".repeat(1_100_000));
        let (status, report) = import(&app, "clients", "", &app.token, endless).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{report}");
        refused(&report, "body");
        assert!(report["errors"][0]["message"].as_str().unwrap().contains("longer than 1048576 bytes"), "{report}");

        let mut config = crate::helpers::test_config();
        config.server.import_max_bytes = 64;
        let small = app.router_with(&config);
        let big = format!("company_name\n{}", "Row\n".repeat(100));
        let (status, report) = import_on(&small, "clients", "", &app.token, big).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{report}");
        refused(&report, "body");
        assert_eq!(count(&app, "clients").await, before);
    }
}

test_both! {
    /// `crm-server import` does what the route does, as the user it names.
    async fn the_import_command_writes_as_the_named_user(app) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clients.csv");
        std::fs::write(&file, "company_name,email\nFrom CLI,cli@acme.fr\nBroken,not-an-email\n").unwrap();
        let run = |extra: &[&str]| {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_crm-server"))
                .env_clear()
                .env("DATABASE_URL", app.database_url())
                .env("RUST_LOG", "error")
                .args(["import", "clients", file.to_str().unwrap(), "--as", "test-admin@crm.example"])
                .args(extra)
                .output()
                .unwrap();
            (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
        };
        let before = count(&app, "clients").await;
        let (ok, out) = run(&["--dry-run", "--per-row"]);
        assert!(!ok, "a refused row fails the command: {out}");
        // The report, then the failure's log line.
        let report: Value = serde_json::Deserializer::from_str(&out).into_iter().next().unwrap().unwrap_or_else(|err| panic!("{err}: {out}"));
        assert_eq!((report["created"].clone(), report["failed"].clone(), report["dryRun"].clone()), (json!(1), json!(1), json!(true)));
        assert_eq!(report["errors"][0]["line"], 3);
        assert_eq!(count(&app, "clients").await, before);
        let (ok, _) = run(&["--per-row"]);
        assert!(!ok);
        assert_eq!(count(&app, "clients").await, before + 1);
        std::fs::write(&file, "company_name,email\nFrom CLI again,cli2@acme.fr\n").unwrap();
        let (ok, out) = run(&[]);
        assert!(ok, "{out}");
        assert_eq!(count(&app, "clients").await, before + 2);
    }
}

test_both! {
    /// With `Accept: application/x-ndjson` a long import tells how far it is, then reports.
    async fn a_long_import_streams_its_progress(app) {
        let mut file = String::from("company_name\n");
        for index in 0..2100 {
            file.push_str(&format!("Bulk {index}\n"));
        }
        let request = Request::post("/import/clients")
            .header(header::CONTENT_TYPE, "text/csv")
            .header(header::ACCEPT, "application/x-ndjson")
            .header(header::AUTHORIZATION, format!("Bearer {}", app.token))
            .body(Body::from(file))
            .unwrap();
        let (status, headers, body) = send_raw(&app.router, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/x-ndjson");
        let lines: Vec<Value> = String::from_utf8(body.to_vec()).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        let progress: Vec<&Value> = lines.iter().filter_map(|line| line.get("progress")).collect();
        assert_eq!(progress.iter().map(|line| line["rows"].as_u64().unwrap()).collect::<Vec<_>>(), [1000, 2000]);
        let report = &lines.last().unwrap()["report"];
        assert_eq!((report["created"].clone(), report["committed"].clone()), (json!(2100), json!(true)), "{lines:?}");
        assert_eq!(count(&app, "clients").await, 2100);
    }
}
