//! `search_entries`: what `search` looks in, one row per client, contract, client note and
//! document (its kind, id, client, searchable text and last change), kept by triggers on those
//! tables in the same transaction as every change, whatever made it.
//!
//! PostgreSQL: a generated `tsvector` of the text without accents (`unaccent`, wrapped in an
//! immutable function so it may be indexed), cut into words at every character that is not a
//! letter or digit (as SQLite's tokenizer does: `acme` finds `contact@acme.example` on both),
//! in the `simple` configuration (no stemming: names and numbers are searched as written),
//! under a GIN index. SQLite: a contentless FTS5 table over the entries' text (`unicode61`
//! with diacritics removed; rows deleted by rowid), kept by triggers on `search_entries`. Both
//! search words by prefix; snippets are made by the server from `body`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The searched tables: their kind, their client column, the text of a row (`{row}` is `NEW`
/// or `OLD`), and the columns whose change rewrites the entry (the stored totals the database
/// updates on every payment are not among them).
const SEARCHED: [(&str, &str, &str, &str, &str); 4] = [
    (
        "clients",
        "client",
        "id",
        "COALESCE({row}.company_name, '') || ' ' || COALESCE({row}.email, '') || ' ' || COALESCE({row}.phone, '') || ' ' || COALESCE({row}.city, '')",
        "company_name, email, phone, city, updated_at",
    ),
    (
        "contracts",
        "contract",
        "client_id",
        "COALESCE({row}.contract_number, '') || ' ' || COALESCE({row}.title, '')",
        "contract_number, title, client_id, updated_at",
    ),
    (
        "client_notes",
        "note",
        "client_id",
        "COALESCE({row}.content, '')",
        "content, client_id, updated_at",
    ),
    (
        "documents",
        "document",
        "client_id",
        "COALESCE({row}.file_name, '')",
        "file_name, client_id, updated_at",
    ),
];

fn text(template: &str, row: &str) -> String {
    template.replace("{row}", row)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let mut sql = String::from(
                    "CREATE TABLE search_entries (\
                       kind TEXT NOT NULL, \
                       id BLOB NOT NULL, \
                       client_id BLOB NOT NULL, \
                       body TEXT NOT NULL, \
                       changed_at TEXT NOT NULL, \
                       UNIQUE (kind, id)); \
                     CREATE INDEX search_entries_client_idx ON search_entries (client_id); \
                     CREATE VIRTUAL TABLE search_text USING fts5(body, content = '', \
                       contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'); \
                     CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN \
                       INSERT INTO search_text (rowid, body) VALUES (NEW.rowid, NEW.body); END; \
                     CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN \
                       DELETE FROM search_text WHERE rowid = OLD.rowid; END; \
                     CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN \
                       DELETE FROM search_text WHERE rowid = OLD.rowid; \
                       INSERT INTO search_text (rowid, body) VALUES (NEW.rowid, NEW.body); END;",
                );
                for (table, kind, client, body, watched) in SEARCHED {
                    let new = text(body, "NEW");
                    sql.push_str(&format!(
                        " CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN \
                           INSERT INTO search_entries (kind, id, client_id, body, changed_at) \
                           VALUES ('{kind}', NEW.id, NEW.{client}, {new}, NEW.updated_at); END; \
                         CREATE TRIGGER {table}_search_update AFTER UPDATE OF {watched} ON {table} BEGIN \
                           UPDATE search_entries SET client_id = NEW.{client}, body = {new}, \
                             changed_at = NEW.updated_at WHERE kind = '{kind}' AND id = NEW.id; END; \
                         CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN \
                           DELETE FROM search_entries WHERE kind = '{kind}' AND id = OLD.id; END; \
                         INSERT INTO search_entries (kind, id, client_id, body, changed_at) \
                           SELECT '{kind}', t.id, t.{client}, {rows}, t.updated_at FROM {table} t;",
                        rows = text(body, "t"),
                    ));
                }
                db.execute_unprepared(&sql).await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE EXTENSION IF NOT EXISTS unaccent; \
                     CREATE FUNCTION crm_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE \
                       PARALLEL SAFE STRICT AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$; \
                     CREATE TABLE search_entries (\
                       kind TEXT NOT NULL, \
                       id UUID NOT NULL, \
                       client_id UUID NOT NULL, \
                       body TEXT NOT NULL, \
                       changed_at TIMESTAMPTZ NOT NULL, \
                       document TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', \
                         regexp_replace(crm_unaccent(body), '[^[:alnum:]]+', ' ', 'g'))) STORED, \
                       PRIMARY KEY (kind, id)); \
                     CREATE INDEX search_entries_document_idx ON search_entries USING GIN (document); \
                     CREATE INDEX search_entries_client_idx ON search_entries (client_id);",
                )
                .await?;
                for (table, kind, client, body, watched) in SEARCHED {
                    db.execute_unprepared(&format!(
                        "CREATE FUNCTION {table}_search() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN \
                           IF TG_OP = 'DELETE' THEN \
                             DELETE FROM search_entries WHERE kind = '{kind}' AND id = OLD.id; \
                             RETURN OLD; \
                           END IF; \
                           INSERT INTO search_entries (kind, id, client_id, body, changed_at) \
                           VALUES ('{kind}', NEW.id, NEW.{client}, {new}, NEW.updated_at) \
                           ON CONFLICT (kind, id) DO UPDATE SET client_id = EXCLUDED.client_id, \
                             body = EXCLUDED.body, changed_at = EXCLUDED.changed_at; \
                           RETURN NEW; \
                         END $$; \
                         CREATE TRIGGER {table}_search AFTER INSERT OR DELETE OR UPDATE OF {watched} ON {table} \
                           FOR EACH ROW EXECUTE FUNCTION {table}_search(); \
                         INSERT INTO search_entries (kind, id, client_id, body, changed_at) \
                           SELECT '{kind}', t.id, t.{client}, {rows}, t.updated_at FROM {table} t;",
                        new = text(body, "NEW"),
                        rows = text(body, "t"),
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let mut sql = String::new();
                for (table, _, _, _, _) in SEARCHED {
                    sql.push_str(&format!(
                        "DROP TRIGGER IF EXISTS {table}_search_insert; \
                         DROP TRIGGER IF EXISTS {table}_search_update; \
                         DROP TRIGGER IF EXISTS {table}_search_delete; "
                    ));
                }
                sql.push_str(
                    "DROP TABLE IF EXISTS search_text; DROP TABLE IF EXISTS search_entries;",
                );
                db.execute_unprepared(&sql).await?;
            }
            _ => {
                let mut sql = String::new();
                for (table, _, _, _, _) in SEARCHED {
                    sql.push_str(&format!(
                        "DROP TRIGGER IF EXISTS {table}_search ON {table}; \
                         DROP FUNCTION IF EXISTS {table}_search(); "
                    ));
                }
                sql.push_str(
                    "DROP TABLE IF EXISTS search_entries; DROP FUNCTION IF EXISTS crm_unaccent(text);",
                );
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}
