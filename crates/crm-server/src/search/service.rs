//! The search statement: the entries matching every word, within the viewer's portfolio, best
//! first (PostgreSQL's `ts_rank`, SQLite's `bm25`), then the most recently changed, then by
//! kind and id (a total order), paged by keyset over those four values.

use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use uuid::Uuid;

use crate::engine::access::{Reach, Viewer, through_client};
use crate::engine::budget::PageLimits;
use crate::engine::cursor::{KeyKind, KeyValue, SortValue, SqlKey};
use crate::engine::decode::read_at;
use crate::engine::forward::{decode_cursor, encode_cursor, invalid_cursor};
use crate::engine::keyset::forward_page;
use crate::engine::reader::Reader;
use crate::engine::scope::Scope;
use crate::error::AppError;
use crate::search::terms::Terms;

/// What kind of row an entry is (its `kind` in `search_entries`).
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    /// A client (company name, e-mail, phone, city).
    Client,
    /// A contract (number, title).
    Contract,
    /// A client note (its text).
    Note,
    /// A document (its file name).
    Document,
}

impl SearchKind {
    pub const ALL: [SearchKind; 4] = [
        SearchKind::Client,
        SearchKind::Contract,
        SearchKind::Note,
        SearchKind::Document,
    ];

    /// The stored kind.
    pub fn stored(self) -> &'static str {
        match self {
            SearchKind::Client => "client",
            SearchKind::Contract => "contract",
            SearchKind::Note => "note",
            SearchKind::Document => "document",
        }
    }

    fn from_stored(kind: &str) -> Option<SearchKind> {
        SearchKind::ALL.into_iter().find(|k| k.stored() == kind)
    }
}

/// One entry found.
pub struct Found {
    pub kind: SearchKind,
    pub id: Uuid,
    /// The entry's text (for its snippet).
    pub body: String,
    pub cursor: String,
}

/// A page of entries found.
pub struct FoundPage {
    pub found: Vec<Found>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// `SELECT COUNT(*)` of every entry found, run when `totalCount` is asked.
    pub count: SelectStatement,
}

/// The entries matching `terms` among `kinds`, as `viewer` may see them.
pub async fn search(
    db: &Reader,
    viewer: Viewer,
    limits: PageLimits,
    terms: &Terms,
    kinds: &[SearchKind],
    first: Option<i32>,
    after: Option<&str>,
    include_archived: bool,
) -> Result<FoundPage, AppError> {
    let backend = db.get_database_backend();
    let limit = limits.first(first)?;
    let kinds: Vec<SearchKind> = if kinds.is_empty() {
        SearchKind::ALL.to_vec()
    } else {
        SearchKind::ALL
            .into_iter()
            .filter(|k| kinds.contains(k))
            .collect()
    };
    let inner = matching(backend, viewer, terms, &kinds, include_archived);
    let signature = format!(
        "search:{}:{}:{include_archived}",
        kinds
            .iter()
            .map(|k| k.stored())
            .collect::<Vec<_>>()
            .join(","),
        terms.tsquery()
    );
    let s = |column: &str| Expr::col((Alias::new("s"), Alias::new(column)));
    let keys = [
        (s("score"), true, KeyKind::Text),
        (s("changed_at"), true, KeyKind::Timestamp),
        (s("kind"), false, KeyKind::Text),
        (s("id"), false, KeyKind::Uuid),
    ];

    let mut count = Query::select();
    count
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner.clone(), Alias::new("s"));

    let mut page = Query::select();
    page.column(Asterisk).from_subquery(inner, Alias::new("s"));
    let after_values = match after {
        None => None,
        Some(after) => {
            let invalid = || invalid_cursor("search");
            let cursor = decode_cursor(
                after,
                &signature,
                keys.len(),
                "search",
                "the same query and types",
            )?;
            let mut values = Vec::with_capacity(keys.len());
            for (i, ((_, _, kind), value)) in keys.iter().zip(&cursor).enumerate() {
                values.push(if i == 0 {
                    // The score: a float, carried as its shortest exact text.
                    let KeyValue::Text(text) = value else {
                        return Err(invalid());
                    };
                    let score: f64 = text.parse().map_err(|_| invalid())?;
                    Some(SqlKey::Value(score.into()))
                } else {
                    value.to_sql(*kind, backend).map_err(|_| invalid())?
                });
            }
            Some(values)
        }
    };
    let order: Vec<(Expr, bool)> = keys.iter().map(|(e, d, _)| (e.clone(), *d)).collect();
    forward_page(&mut page, &order, after_values.as_deref(), limit);
    let rows = db.query_all(&page).await?;
    let has_next_page = rows.len() > limit;
    let mut found = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        found.push(read_found(row, &signature)?);
    }
    Ok(FoundPage {
        found,
        has_next_page,
        has_previous_page: after.is_some(),
        count,
    })
}

/// The entries matching `terms`: kind, id, last change, text and score; archived clients and
/// contracts left out unless `include_archived`.
fn matching(
    backend: DbBackend,
    viewer: Viewer,
    terms: &Terms,
    kinds: &[SearchKind],
    include_archived: bool,
) -> SelectStatement {
    let e = Scope::root(backend, viewer);
    let mut select = Query::select();
    for column in ["kind", "id", "changed_at", "body"] {
        select.expr_as(e.col(column), Alias::new(column));
    }
    let mut condition = Condition::all().add(e.col("kind").is_in(kinds.iter().map(|k| k.stored())));
    if backend == DbBackend::Sqlite {
        select
            .expr_as(Expr::cust("-bm25(search_text)"), Alias::new("score"))
            .from(Alias::new("search_text"))
            // CROSS JOIN (the join's condition in WHERE): SQLite keeps the full-text match as
            // the outer loop; as a plain join it scanned the entries and ran the match once per
            // entry (seconds per search over the demo data).
            .join_as(
                JoinType::CrossJoin,
                Alias::new("search_entries"),
                Alias::new(&e.alias),
                Condition::all(),
            );
        condition = condition
            .add(
                Expr::col((Alias::new(&e.alias), Alias::new("rowid")))
                    .equals((Alias::new("search_text"), Alias::new("rowid"))),
            )
            .add(Expr::cust_with_values(
                "search_text MATCH ?",
                [terms.fts5()],
            ));
    } else {
        select
            .expr_as(
                Expr::cust_with_values(
                    format!(
                        "CAST(ts_rank({}, to_tsquery('simple', crm_unaccent($1))) AS float8)",
                        e.raw("document")
                    ),
                    [terms.tsquery()],
                ),
                Alias::new("score"),
            )
            .from_as(Alias::new("search_entries"), Alias::new(&e.alias));
        condition = condition.add(Expr::cust_with_values(
            format!(
                "{} @@ to_tsquery('simple', crm_unaccent($1))",
                e.raw("document")
            ),
            [terms.tsquery()],
        ));
    }
    if let Some(visible) = through_client("client_id", &e, Reach::Table) {
        condition = condition.add(visible);
    }
    if !include_archived {
        for (kind, table) in [
            (SearchKind::Client, "clients"),
            (SearchKind::Contract, "contracts"),
        ] {
            let a = e.child();
            condition = condition.add(Expr::cust(format!(
                "NOT EXISTS (SELECT 1 FROM {table} {alias} WHERE {id} = {entry} AND {kind_col} = '{kind}' \
                 AND {archived} IS NOT NULL)",
                alias = a.alias,
                id = a.raw("id"),
                entry = e.raw("id"),
                kind_col = e.raw("kind"),
                kind = kind.stored(),
                archived = a.raw("archived_at"),
            )));
        }
    }
    select.cond_where(condition);
    select
}

fn read_found(row: &QueryResult, signature: &str) -> Result<Found, AppError> {
    let kind_text = read_at::<String>(row, 0)?;
    let kind = SearchKind::from_stored(&kind_text)
        .ok_or_else(|| AppError::Internal(format!("unknown search entry kind {kind_text}")))?;
    let id = read_at::<Uuid>(row, 1)?;
    let changed = SortValue::read(row, 2, KeyKind::Timestamp)?;
    let body = read_at::<String>(row, 3)?;
    let score: f64 = row.try_get_by_index(4)?;
    let cursor = encode_cursor(
        signature,
        vec![
            KeyValue::Text(score.to_string()),
            changed.to_wire(),
            KeyValue::Text(kind_text),
            KeyValue::Text(id.to_string()),
        ],
    );
    Ok(Found {
        kind,
        id,
        body,
        cursor,
    })
}
