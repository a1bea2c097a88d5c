import pg from 'pg';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { storeConformance } from '../store-conformance.js';
import { describeWithServer, POSTGRES_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

const unreachable = await tcpUnreachable(POSTGRES_URL);

async function dropTables(prefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS "${prefix}sessions", "${prefix}entries", "${prefix}records"`);
  } finally {
    await admin.end();
  }
}

describeWithServer('postgresStore', `PostgreSQL at ${POSTGRES_URL}`, unreachable, () => {
  const prefix = `sl_t${uniqueSuffix()}_`;
  // Each open() has its own pool: the suite's two stores act as two app servers. Tables are created on first use.
  storeConformance('postgresStore', {
    open: () => postgresStore({ pool: new pg.Pool({ connectionString: POSTGRES_URL, max: 10 }), tablePrefix: prefix }),
    cleanup: () => dropTables(prefix),
  });
});
