import { createHash } from 'node:crypto';
import { TEXT_PIECE_CHARS, textPieces } from '@orchex/core';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertBatch } from '../src/batch-store.ts';
import type { Db } from '../src/db.ts';
import { insertSplitTask } from '../src/split-task-store.ts';
import { insertTask } from '../src/task-store.ts';
import { openPglite, openPostgres, useMigratedDatabase } from './open-test-databases.ts';

// Texts longer than a piece, with a surrogate pair (😀) across each piece boundary: a piece ending in half a pair
// would be stored as U+FFFD.
const long = (n: number, seed: string) => {
  const unit = `${seed} 漢字 ÿ `;
  let text = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
  for (let at = TEXT_PIECE_CHARS - 1; at < n - 2; at += TEXT_PIECE_CHARS) {
    text = `${text.slice(0, at)}😀${text.slice(at + 2)}`;
  }
  return text;
};
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const row = (prompt: string, context: string | null) => ({
  apiKeyId: 'k',
  prompt,
  context,
  system: null,
  params: { maxTokens: 10 },
  plan: ['model-a'],
  routingReason: 'test',
});

describe('textPieces', () => {
  it('cuts at most TEXT_PIECE_CHARS, never between the halves of a surrogate pair, and joins back whole', () => {
    const text = long(3 * TEXT_PIECE_CHARS + 17, 'x');
    const pieces = textPieces(text);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(TEXT_PIECE_CHARS);
      expect((p as unknown as { isWellFormed(): boolean }).isWellFormed()).toBe(true);
    }
  });
});

describe.each([
  ['postgres', () => openPostgres('long_text')],
  ['pglite', () => openPglite()],
] as const)('texts longer than a statement piece, on %s', (_kind, open) => {
  const database = useMigratedDatabase(open);
  let db: Db;
  beforeAll(() => {
    db = database.db;
  });
  const stored = async (id: string) =>
    (
      await db.execute<{ prompt: string; context: string }>(
        sql`select md5(prompt) as prompt, md5(context) as context from tasks where id = ${id}`,
      )
    ).rows[0];

  it('insertTask stores them whole, from the text or from the pieces it arrived in', async () => {
    const prompt = long(TEXT_PIECE_CHARS + 1000, 'p');
    const context = long(2 * TEXT_PIECE_CHARS + 5, 'c');
    const a = await insertTask(db, row(prompt, context));
    expect(await stored(a.task.id)).toEqual({ prompt: md5(prompt), context: md5(context) });
    const b = await insertTask(db, { ...row(prompt, context), textPieces: { context: textPieces(context) } });
    expect(await stored(b.task.id)).toEqual({ prompt: md5(prompt), context: md5(context) });
  });

  it('a split task and a batch task store theirs whole too', async () => {
    const context = long(TEXT_PIECE_CHARS + 3, 's');
    const split = await insertSplitTask(db, row('p', context), {
      maps: [row('map', long(TEXT_PIECE_CHARS + 9, 'm'))],
      reduce: row('reduce', null),
    });
    expect((await stored(split.parent.id))?.context).toBe(md5(context));
    expect((await stored(split.mapIds[0] as string))?.context).toBe(md5(long(TEXT_PIECE_CHARS + 9, 'm')));
    const batch = await insertBatch(db, {
      apiKeyId: 'k',
      name: null,
      idempotencyKey: null,
      tasks: [{ ...row('small', null) }, { ...row('big', context) }],
    });
    if (!batch.created) throw new Error('batch not created');
    expect((await stored(batch.tasks[1]?.id as string))?.context).toBe(md5(context));
  });
});
