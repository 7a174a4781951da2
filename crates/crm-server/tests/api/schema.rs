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
    // Every `type`, `enum`, `scalar` and field line must follow a description.
    let lines: Vec<&str> = sdl.lines().collect();
    let mut undescribed = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let is_definition = trimmed.starts_with("type ")
            || trimmed.starts_with("enum ")
            || trimmed.starts_with("scalar ")
            || trimmed.starts_with("input ")
            || (line.starts_with('\t') || line.starts_with("  "))
                && trimmed.contains(':')
                && !trimmed.starts_with('"');
        let previous = i.checked_sub(1).map(|j| lines[j].trim()).unwrap_or("");
        let described = previous.ends_with("\"\"\"") || previous.ends_with('"');
        let internal = trimmed.starts_with(')')
            || trimmed.starts_with("schema")
            || trimmed.starts_with("query:")
            || trimmed.starts_with("directive");
        if is_definition && !described && !internal {
            undescribed.push(trimmed.to_owned());
        }
    }
    assert!(
        undescribed.is_empty(),
        "undescribed in the schema: {undescribed:#?}"
    );
}
