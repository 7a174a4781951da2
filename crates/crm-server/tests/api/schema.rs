//! `schema.graphql` is generated from the code; this fails when they drift apart.

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = crm_server::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is out of date with the code. Regenerate it with:\n\n    \
         cargo run -p crm-server -- schema > schema.graphql\n"
    );
}

#[test]
fn every_type_and_field_is_described() {
    let sdl = crm_server::graphql::sdl();
    // Every type, enum, scalar, input and field definition must follow a description.
    let mut undescribed = Vec::new();
    let mut in_description = false;
    let mut described = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
            described = !in_description;
            continue;
        }
        if in_description {
            continue;
        }
        if trimmed.starts_with('"') {
            described = true;
            continue;
        }
        let is_type = ["type ", "enum ", "scalar ", "input "]
            .iter()
            .any(|k| trimmed.starts_with(k));
        let is_field = line.starts_with('\t') && !trimmed.is_empty() && !trimmed.starts_with(')');
        let internal = line.starts_with("schema")
            || line.starts_with("directive")
            || (!line.starts_with('\t') && trimmed.contains("query:"));
        if (is_type || is_field)
            && !described
            && !internal
            && !trimmed.starts_with("query:")
            && !trimmed.starts_with("mutation:")
            && !trimmed.starts_with("subscription:")
        {
            undescribed.push(trimmed.to_owned());
        }
        if !trimmed.is_empty() {
            described = false;
        }
    }
    assert!(
        undescribed.is_empty(),
        "undescribed in the schema: {undescribed:#?}"
    );
}
