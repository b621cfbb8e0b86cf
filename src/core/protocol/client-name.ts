// How chwire names itself. The integrations-guide convention (used by
// clickhouse-go and clickhouse-js) is a product list, application first:
// `<app>/<version> chwire/<version>`. It goes in the Hello client name and in
// ClientInfo.client_name (servers with validate_tcp_client_information expect
// the two to agree).

import { CHWIRE_NAME, CHWIRE_VERSION } from './revision.js';

export interface Application {
  name: string;
  version?: string;
}

export function formatClientName(app?: Application): string {
  const self = `${CHWIRE_NAME}/${CHWIRE_VERSION.major}.${CHWIRE_VERSION.minor}.${CHWIRE_VERSION.patch}`;
  if (!app || app.name === '') return self;
  const clean = (s: string) => s.replace(/[\s/]+/g, '-');
  return `${clean(app.name)}${app.version ? `/${clean(app.version)}` : ''} ${self}`;
}
