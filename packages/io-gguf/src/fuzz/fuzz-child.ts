/**
 * Child-process entry of a fuzzing campaign (run with tsx by `runFuzzInChild`). It announces every case
 * before running it, so the parent can kill it and name the case if one hangs.
 */
import { runFuzzCampaign } from './campaign.js';
import type { CampaignOptions } from './campaign.js';

export type ChildMessage = { readonly type: 'case'; readonly index: number } | { readonly type: 'done'; readonly report: unknown };

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

const options = JSON.parse(process.argv[2] ?? '{}') as CampaignOptions;
const report = await runFuzzCampaign({ ...options, beforeCase: (index) => send({ type: 'case', index }) });
send({ type: 'done', report });
process.disconnect?.();
