//! GraphiQL, served from assets bundled in the binary: no CDN, so it works offline and
//! behind corporate proxies.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>CRM GraphQL API · GraphiQL</title>
  <link rel="stylesheet" href="graphiql/assets/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="graphiql/assets/react.production.min.js"></script>
  <script src="graphiql/assets/react-dom.production.min.js"></script>
  <script src="graphiql/assets/graphiql.min.js"></script>
  <script>
    const endpoint = window.location.pathname;
    // Subscriptions over WebSocket on the same path; the Headers editor's Authorization goes
    // in connection_init.
    const subscriptionUrl =
      (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + endpoint;
    const fetcher = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    const defaultQuery = [
      '# CRM GraphQL API. Every query needs a signed-in user:',
      '#  1. run signIn below (a new development database has the development admin,',
      '#     see the README), or create an API token;',
      '#  2. open Headers (below) and paste {"Authorization": "Bearer <accessToken>"};',
      '#  3. query away: { me { username role } clients(first: 5) { nodes { companyName } } }',
      '#  4. or watch: subscription { paymentChanged { operation payment { amount status } } }',
      '',
      'mutation ($email: String!, $password: String!) {',
      '  signIn(email: $email, password: $password) { accessToken accessTokenExpiresAt user { username role } }',
      '}',
      '',
    ].join('\n');
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    }));
  </script>
</body>
</html>
"#;

/// `GET /graphql`: the GraphiQL page.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    gzipped: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/graphiql.min.css.gz"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/graphiql.min.js.gz"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/react.production.min.js.gz"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../assets/graphiql/react-dom.production.min.js.gz"),
    },
];

/// `GET /graphiql/assets/{name}`: a bundled asset, gzip-encoded (every browser accepts it).
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            asset.gzipped,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
