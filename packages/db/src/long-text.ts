import { type LongTextField, TEXT_PIECE_CHARS, type TextPieces, textPieces } from '@orchex/core';
import { eq, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { tasks } from './schema.ts';

/** What is left to append of a task's long texts, piece by piece, in order. */
export type TextRest = Array<[LongTextField, string]>;

const FIELDS: readonly LongTextField[] = ['prompt', 'context', 'system'];

/** A task row whose long texts may also come in pieces (PlannedTask.textPieces). */
export type WithTextPieces<T> = T & { textPieces?: TextPieces | undefined };

/**
 * The row with each text longer than TEXT_PIECE_CHARS reduced to its first piece, and the other pieces to append
 * with appendTextRests, in the insert's transaction. node-postgres encodes a statement's parameters synchronously: a
 * 10-million-character context held the caller's event loop for 65–150 ms (a Buffer parameter too, as it is copied),
 * a piece takes a few milliseconds. Pieces given in `row.textPieces` are used as they are, so a text that arrived in
 * pieces is never made whole here.
 */
export function cutLongTexts<T extends Partial<Record<LongTextField, string | null>>>(
  row: WithTextPieces<T>,
): { row: T; rest: TextRest } {
  const { textPieces: given, ...plain } = row;
  const head = plain as unknown as T;
  const rest: TextRest = [];
  for (const field of FIELDS) {
    const text = head[field];
    if (typeof text !== 'string') continue;
    const pieces = given?.[field] ?? (text.length > TEXT_PIECE_CHARS ? textPieces(text) : undefined);
    if (!pieces || pieces.length < 2) continue;
    head[field] = pieces[0] as T[LongTextField];
    for (const piece of pieces.slice(1)) rest.push([field, piece]);
  }
  return { row: head, rest };
}

/** Appends what cutLongTexts left over to task `id`, one piece per statement; call in the insert's transaction. */
export async function appendTextRests(tx: Db, id: string, rest: TextRest): Promise<void> {
  for (const [field, piece] of rest) {
    await tx
      .update(tasks)
      .set({ [field]: sql`${tasks[field]} || ${piece}` })
      .where(eq(tasks.id, id));
  }
}
