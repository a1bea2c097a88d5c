export { defineRoutes, type Routes } from './define.js';
export { routesDocument, type RoutesDocument } from './document.js';
export { matchRoute, isWriteRoute, createRouteMatcher, type RouteMatch } from './match.js';
export type { RouteEntry, RouteTable, KeysOf, EntryKeys, EntryWrites } from './types.js';
