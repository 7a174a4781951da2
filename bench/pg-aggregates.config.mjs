// PostGraphile v5 with @graphile/pg-aggregates, for bench/dashboards.sh: the harness's
// production settings (../shared/bench/postgraphile/graphile.config.mjs) plus the aggregates
// preset. DATABASE_URL and PORT come from the environment.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";

/** @type {GraphileConfig.Preset} */
export default {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      pubsub: false,
      poolConfig: { max: Number(process.env.PG_POOL_MAX ?? 10) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 5678),
    graphqlPath: "/graphql",
    graphiql: false,
    graphiqlOnGraphQLGET: false,
    graphqlOverGET: false,
    watch: false,
    websockets: false,
    outputDataAsString: true,
  },
  grafast: { explain: false },
};
