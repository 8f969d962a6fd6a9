/**
 * What `warrant dev --demo` must narrate, scene by scene: each outcome the story promises, with the
 * stable code of each refusal. Shared by the demo's end-to-end test and the README quickstart test.
 */
export const DEMO_STORY: readonly (readonly [string, RegExp])[] = [
  [
    'alice delegates to the orchestrator',
    /ALLOWED +the STS gives the orchestrator a warrant on behalf of alice@example\.org/,
  ],
  ['a transaction is opened', /it opens transaction txn_/],
  [
    'the task narrows',
    /ALLOWED +research agent, for alice@example\.org via the orchestrator: db:customers\.query, crm:notes\.create only/,
  ],
  ['tools are pinned, approved first', /the operator reviews and approves tool "query"/],
  [
    'the MCP query goes through',
    /ALLOWED +research → database: db:customers\.query for alice@example\.org .*2 rows: Acme GmbH, Globex Ltd/,
  ],
  ['the CRM note is filed', /ALLOWED +research → CRM: crm:notes\.create .*note note-1 filed/],
  ['A2A quote within the bound', /ALLOWED +orchestrator → payments: payments:quote/],
  [
    'A2A transfer needs approval',
    /REFUSED +orchestrator → payments: payments:transfer 2400 EUR: WARRANT_APPROVAL_REQUIRED/,
  ],
  ['alice approves', /ALLOWED +alice@example\.org approves it/],
  [
    'the approved transfer goes through',
    /ALLOWED +orchestrator → payments: payments:transfer with alice's approval: "transferred 2400 EUR to acme"/,
  ],
  [
    'an approval is single-use',
    /REFUSED +the same approved transfer sent a second time: WARRANT_APPROVAL_USED/,
  ],
  ['widening refused at the STS', /REFUSED +at the STS: research asks for db:\* .*: WARRANT_GRANT_NOT_HELD/],
  [
    'reaching another audience refused',
    /REFUSED +at the STS: research asks for a warrant to the payments agent: WARRANT_AUDIENCE_NOT_ALLOWED/,
  ],
  [
    'a replayed request refused',
    /REFUSED +at the gateway: an eavesdropper replays .*: WARRANT_DPOP_REPLAYED/,
  ],
  [
    'a stolen warrant refused',
    /REFUSED +at the gateway: the stolen warrant, presented with the thief's own key: WARRANT_CNF_MISMATCH/,
  ],
  ['the changed tool is hidden', /tools\/list now shows: nothing \("query" is hidden/],
  [
    'the changed tool is quarantined',
    /REFUSED +research → database: db:customers\.query: WARRANT_TOOL_QUARANTINED/,
  ],
  ['the drift is shown', /the operator sees the drift: changed description/],
  [
    'the loop trips the breaker',
    /REFUSED +call \d+: WARRANT_BREAKER_OPEN \(the txn breaker txn:txn_\S+ is open: 21 calls in the current 60 s window \(cap 20\)/,
  ],
  ['containment revokes', /revoked \d+ live warrants/],
  [
    'the note is rolled back',
    /rolled back crm:notes\.create: DELETE http:\/\/127\.0\.0\.1:\d+\/notes\/note-1 → done/,
  ],
  ['the CRM is empty again', /the CRM now holds 0 notes \(rolled back: note-1\)/],
  [
    'the contained txn is refused',
    /REFUSED +research → database, any call of the contained transaction: WARRANT_TOKEN_REVOKED/,
  ],
  [
    'the closing commands',
    /npx warrant audit trace --txn txn_\S+.*\n.*npx warrant audit report disclosure --txn txn_\S+.*\n.*npx warrant audit export.*npx warrant audit verify ledger\.jsonl --key/,
  ],
];
