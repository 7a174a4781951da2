//! Spreadsheets in and out: `GET /export/{clients|contracts|payments}.csv` (see [`export`])
//! and `POST /import/{clients|contracts|payments}` (see [`import`]).
//!
//! Each table declares its columns once, in its domain (`clients/csv.rs`, …): for the export,
//! the CSV header, the GraphQL field it comes from, and whether it is free text (a cell a
//! spreadsheet could take for a formula); for the import, the header, the mutation input's
//! field it fills and how its cells read.

pub mod export;
pub mod import;

/// One column of an export: its header, the path of the GraphQL field that fills it (a
/// to-one relation's field is two names: `["assignedTo", "email"]`), and whether it holds free
/// text.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub path: &'static [&'static str],
    pub text: bool,
}

impl Column {
    /// A column of free text (names, e-mails, references): neutralised against formulas.
    pub const fn text(header: &'static str, path: &'static [&'static str]) -> Column {
        Column {
            header,
            path,
            text: true,
        }
    }

    /// A column of ids, numbers, amounts, dates, enum values and booleans.
    pub const fn value(header: &'static str, path: &'static [&'static str]) -> Column {
        Column {
            header,
            path,
            text: false,
        }
    }
}

/// A table as a CSV file: the root list it reads and its columns.
#[derive(Debug, Clone, Copy)]
pub struct Sheet {
    /// The file's name and the root list's field: `clients`, `contracts`, `payments`.
    pub name: &'static str,
    /// The list's filter and order input types.
    pub filter_type: &'static str,
    pub order_type: &'static str,
    pub columns: &'static [Column],
}

/// The tables that export.
pub const SHEETS: [&Sheet; 3] = [
    &crate::clients::csv::SHEET,
    &crate::contracts::csv::SHEET,
    &crate::payments::csv::SHEET,
];

/// The sheet named `name`.
pub fn sheet(name: &str) -> Option<&'static Sheet> {
    SHEETS.into_iter().find(|sheet| sheet.name == name)
}
