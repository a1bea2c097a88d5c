/**
 * `@hono/node-server`, the Node-to-Fetch bridge of the Node, Express and Vite
 * adapters. It is an optional peer: an app that imports one of these adapters
 * without it gets an error naming the package and the install command, at
 * import, instead of Node's bare "Cannot find package".
 */
type Bridge = typeof import('@hono/node-server');
type ResponseUtils = typeof import('@hono/node-server/utils/response');

/** The message when the bridge is not installed. */
export const MISSING_BRIDGE =
  'session-lanes: the Node adapters (session-lanes/server/node, /express, /vite) serve Fetch handlers through @hono/node-server, ' +
  'an optional peer dependency that is not installed: run `npm install @hono/node-server`';

async function load(): Promise<[Bridge, ResponseUtils]> {
  try {
    return await Promise.all([import('@hono/node-server'), import('@hono/node-server/utils/response')]);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes('@hono/node-server');
    if (missing) throw new Error(MISSING_BRIDGE, { cause: error });
    throw error;
  }
}

const [bridge, responseUtils] = await load();

export const getRequestListener: Bridge['getRequestListener'] = bridge.getRequestListener;
export const RESPONSE_ALREADY_SENT: ResponseUtils['RESPONSE_ALREADY_SENT'] = responseUtils.RESPONSE_ALREADY_SENT;
