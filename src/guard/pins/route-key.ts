/**
 * The name pins are kept under for a route: its path prefix, behind its host when the route is selected
 * by host (`tools.example.org/mcp`). Operators name routes this way (`warrant tools list --route /mcp`).
 */
export function routeKey(route: {
  readonly match: { readonly host?: string; readonly pathPrefix: string };
}): string {
  return route.match.host === undefined
    ? route.match.pathPrefix
    : `${route.match.host.toLowerCase()}${route.match.pathPrefix}`;
}
