/**
 * Sample events used at load time to prove a template renders valid JSON whatever the request contains:
 * every string holds JSON/HTML/Handlebars metacharacters, newlines, control characters and non-ASCII text.
 */
import type { AdmissionEvent } from '../admission/types.js';

export const HOSTILE_TEXT = 'quote " backslash \\ newline \n tab \t cr \r nul \u0000 {{curly}} {{{triple}}} <script>alert(1)</script> & ünïcödé 😀 \u2028';

export function sampleEvents(): AdmissionEvent[] {
  const h = (s: string): string => `${s} ${HOSTILE_TEXT}`;
  return [
    {
      uid: h('uid'),
      decision: 'reject',
      admitted: false,
      detectionMode: false,
      dryRun: false,
      operation: 'CREATE',
      kind: h('Pod'),
      namespace: h('ns'),
      name: h('name'),
      user: h('user'),
      message: h('denied'),
      results: [
        {
          image: h('registry.example/a:1'), rule: h('*'), validator: h('v'), outcome: 'denied', reason: h('reason'), code: 'X',
          details: {
            summary: h('summary'),
            attestations: [{ predicateType: h('https://example.com/p'), satisfied: false, code: 'ATTESTATION_POLICY_FAILED', summary: h('policy false'), found: 1, verifiedBy: [h('root')], policy: { expression: h('predicate.x == "y"'), result: 'false' } }],
          },
        },
        { image: h('registry.example/b:2'), rule: h('*'), validator: h('v'), outcome: 'admitted', reason: h('ok'), digest: `sha256:${'a'.repeat(64)}` },
      ],
      warnings: [h('warning')],
      timestamp: new Date(0),
    },
    {
      uid: h('uid'),
      decision: 'reject',
      admitted: true,
      detectionMode: true,
      dryRun: true,
      operation: 'UPDATE',
      kind: h('Deployment'),
      namespace: h('ns'),
      name: h('name'),
      user: h('user'),
      message: h('would deny'),
      results: [{ image: h('registry.example/a:1'), rule: h('*'), validator: h('v'), outcome: 'denied', reason: h('reason'), code: 'X' }],
      warnings: [h('detection mode: would deny')],
      timestamp: new Date(0),
    },
    {
      uid: '',
      decision: 'admit',
      admitted: true,
      detectionMode: false,
      dryRun: false,
      operation: 'UPDATE',
      kind: '',
      namespace: '',
      name: '',
      user: '',
      message: '',
      results: [],
      warnings: [],
      timestamp: new Date(0),
    },
  ];
}
