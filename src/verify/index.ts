/**
 * The receiver verifier (`warrant/verify`, DESIGN §10): what any recipient of a warrant checks — the DPoP
 * proof, the warrant or its whole chain, revocation status — with the STS's keys and revocation data as a
 * remote recipient sees them. It never imports the gateway: the gateway is one user of it, the SDK's
 * receiver middleware another.
 */
export * from './remote-keys.ts';
export * from './revocation-view.ts';
export * from './verify-presented.ts';
