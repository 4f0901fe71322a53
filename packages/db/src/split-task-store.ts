import { type TaskError, TERMINAL_STATUSES, TEXT_PIECE_CHARS } from '@orchex/core';
import { and, asc, eq, notInArray, or, sql } from 'drizzle-orm';
import type { Db } from './create-database.ts';
import { appendTextRests, cutLongTexts, type WithTextPieces } from './long-text.ts';
import { type NewTask, type TaskRow, tasks } from './schema.ts';
import { sizedSlices } from './sized-slices.ts';
import { type TaskSummaryRow, taskSummaryColumns } from './task-summary.ts';

/** A part of a split task, as the parent's record shows it. */
export type PartRow = Pick<
  TaskRow,
  'id' | 'partKind' | 'partIndex' | 'status' | 'model' | 'costMicros' | 'error' | 'resultText' | 'currentStep'
>;

/**
 * Inserts a split task — the parent the client sees, its map parts and its reduce part — in one transaction, so
 * a half-split task can never exist. Returns the rows with their ids.
 */
export async function insertSplitTask(
  db: Db,
  parent: WithTextPieces<NewTask>,
  parts: NewParts,
): Promise<{ parent: TaskSummaryRow } & InsertedParts> {
  return db.transaction(async (tx) => {
    const { row, rest } = cutLongTexts(parent);
    const [p] = await tx.insert(tasks).values(row).returning(taskSummaryColumns);
    if (!p) throw new Error('parent insert returned nothing');
    await appendTextRests(tx, p.id, rest);
    return { parent: p, ...(await insertParts(tx, p.id, parts)) };
  });
}

/** A part row before insert: its parent, kind and index are set by insertParts. */
export type NewPart = Omit<NewTask, 'parentTaskId' | 'partKind' | 'partIndex'>;

/** The parts of one split task: one map per chunk, in chunk order, and the reduce. */
export interface NewParts {
  maps: NewPart[];
  reduce: NewPart;
}

/** The ids of inserted parts, for enqueueing the task's flow. */
export interface InsertedParts {
  mapIds: string[];
  reduceId: string;
}

/** Inserts the parts of split task `parentId`; call inside the transaction that inserts the parent. */
export async function insertParts(tx: Db, parentId: string, parts: NewParts): Promise<InsertedParts> {
  const mapIds: string[] = [];
  // Chunks are large (a whole document between them): insert in slices of at most 50 parts and TEXT_PIECE_CHARS of
  // text, so encoding one statement's parameters stays short on the caller's event loop.
  const chars = (m: NewPart) => m.prompt.length + (m.context?.length ?? 0) + (m.system?.length ?? 0);
  for (const [i, end] of sizedSlices(parts.maps, 50, TEXT_PIECE_CHARS, chars)) {
    const cut = parts.maps.slice(i, end).map((m) => cutLongTexts(m));
    const slice = cut.map(({ row }, j) => ({
      ...row,
      parentTaskId: parentId,
      partKind: 'map' as const,
      partIndex: i + j,
    }));
    const ids = (await tx.insert(tasks).values(slice).returning({ id: tasks.id })).map((r) => r.id);
    for (const [j, id] of ids.entries()) await appendTextRests(tx, id, cut[j]?.rest ?? []);
    mapIds.push(...ids);
  }
  const reduce = cutLongTexts(parts.reduce);
  const [r] = await tx
    .insert(tasks)
    .values({ ...reduce.row, parentTaskId: parentId, partKind: 'reduce', partIndex: parts.maps.length })
    .returning({ id: tasks.id });
  if (!r) throw new Error('reduce insert returned nothing');
  await appendTextRests(tx, r.id, reduce.rest);
  return { mapIds, reduceId: r.id };
}

/** The parts of a split task in order: maps by chunk number, then the reduce. */
export async function findParts(db: Db, parentId: string): Promise<PartRow[]> {
  return db
    .select({
      id: tasks.id,
      partKind: tasks.partKind,
      partIndex: tasks.partIndex,
      status: tasks.status,
      model: tasks.model,
      costMicros: tasks.costMicros,
      error: tasks.error,
      resultText: tasks.resultText,
      currentStep: tasks.currentStep,
    })
    .from(tasks)
    .where(eq(tasks.parentTaskId, parentId))
    .orderBy(asc(tasks.partIndex));
}

/**
 * Finishes the parent of a split task from its reduce part: the reduce's answer is the task's answer, and the
 * task's cost is the sum of every part's cost. Only a non-terminal parent is changed.
 */
export async function finishParent(
  db: Db,
  parentId: string,
  outcome:
    | { status: 'succeeded'; model: string; resultText: string; finishReason: string }
    | { status: 'failed'; error: TaskError },
): Promise<boolean> {
  const partsCost = sql`(select coalesce(sum(p.cost_micros), 0) from ${tasks} p where p.parent_task_id = ${parentId})`;
  const rows = await db
    .update(tasks)
    .set({
      ...(outcome.status === 'succeeded'
        ? { model: outcome.model, resultText: outcome.resultText, finishReason: outcome.finishReason, error: null }
        : { error: outcome.error }),
      status: outcome.status,
      costMicros: partsCost,
      finishedAt: sql`now()`,
    })
    .where(and(eq(tasks.id, parentId), notInArray(tasks.status, [...TERMINAL_STATUSES])))
    .returning({ id: tasks.id });
  return rows.length > 0;
}

/**
 * Cancels the parts of a split task that have not started (its task failed: their answers could not be used). Their
 * jobs find them terminal and end without calling a model. Returns how many were cancelled.
 */
export async function cancelQueuedParts(db: Db, parentId: string): Promise<number> {
  const rows = await db
    .update(tasks)
    .set({
      status: 'cancelled',
      error: { kind: 'cancelled', message: 'another part of the task failed' },
      finishedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(tasks.parentTaskId, parentId), eq(tasks.status, 'queued')))
    .returning({ id: tasks.id });
  return rows.length;
}

/** Removes a split task and all its parts (used when it could not be enqueued). */
export async function deleteSplitTask(db: Db, parentId: string): Promise<void> {
  await db.delete(tasks).where(or(eq(tasks.id, parentId), eq(tasks.parentTaskId, parentId)));
}

/**
 * Split tasks still running although every part has ended — their end was not written (a crash between the part's
 * write and the task's, before both went into one transaction). Each with its reduce part's outcome.
 */
export async function findSplitTasksToFinish(
  db: Db,
  limit = 200,
): Promise<Array<{ id: string; reduce: PartRow | undefined; failed: PartRow | undefined }>> {
  const parents = await db.execute<{ id: string }>(sql`
    select t.id from ${tasks} t
    where t.status = 'running' and t.part_kind is null
      and exists (select 1 from ${tasks} p where p.parent_task_id = t.id)
      and not exists (select 1 from ${tasks} p where p.parent_task_id = t.id
                        and p.status not in ('succeeded', 'failed', 'cancelled'))
    limit ${limit}`);
  const out = [];
  for (const { id } of parents.rows) {
    const parts = await findParts(db, id);
    out.push({
      id,
      reduce: parts.find((p) => p.partKind === 'reduce'),
      failed: parts.find((p) => p.status === 'failed'),
    });
  }
  return out;
}
