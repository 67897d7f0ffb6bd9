// Seeded structure-aware fuzzing of the compiler (test/fuzz/): a few hundred mutants of the shared
// models in the default run; `npm run fuzz` runs 100,000. Every mutant must compile or be refused
// with a TinyforgeError; accepted mutants' host C (a sample) must pass ASan + UBSan.

import { describe, expect, it } from 'vitest';
import { TinyforgeError } from '../compiler/errors.ts';
import { runCampaign } from './fuzz/campaign.ts';
import { loadSeeds } from './fuzz/campaign.ts';
import { mutate } from './fuzz/mutator.ts';

describe('fuzzing the compiler with mutated models', () => {
  it('the mutator is deterministic and changes the file', () => {
    const [seed] = loadSeeds(['micro_speech']);
    const a = mutate(seed!, 17, 3);
    const b = mutate(seed!, 17, 3);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.mutations).toEqual(b.mutations);
    const changed = Array.from({ length: 50 }, (_, n) => mutate(seed!, n, 3)).filter((m) => !Buffer.from(m.bytes).equals(Buffer.from(seed!.bytes)));
    // A mutation can write the value a field already has; nearly all must change something.
    expect(changed.length).toBeGreaterThan(40);
  });

  it('300 mutants: each compiles or gets a one-line TinyforgeError; two accepted ones pass ASan + UBSan', async () => {
    const seed = Number(process.env.TINYFORGE_FUZZ_SEED ?? 20261206);
    const r = await runCampaign({ count: 300, seed, sanitize: 2, slowMs: 20_000 });
    const report = r.findings.map((f) => `${f.kind} ${f.model} #${f.mutant}: ${f.mutations.join('; ')} => ${f.message}`).join('\n');
    expect(report, `findings (seed ${seed})`).toBe('');
    expect(r.mutants).toBe(300);
    // The mutator must reach past the reader: some mutants compile, many are refused by later checks.
    expect(r.accepted).toBeGreaterThan(10);
    expect(r.rejected).toBeGreaterThan(100);
    expect(r.sanitized).toBe(2);
  });

  it('a refusal is a TinyforgeError with a one-line message', async () => {
    const { compileMutant } = await import('./fuzz/campaign.ts');
    const [seed] = loadSeeds(['hello_world_int8']);
    let refused = 0;
    for (let n = 0; n < 60; n++) {
      const m = mutate(seed!, n, 5);
      try {
        compileMutant(m.bytes, seed!.name);
      } catch (e) {
        expect(e).toBeInstanceOf(TinyforgeError);
        expect((e as Error).message).not.toContain('\n');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(10);
  });
});
