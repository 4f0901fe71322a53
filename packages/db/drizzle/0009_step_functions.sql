-- The worker's two statements per task (set-wise-writes.ts: the claim, and the attempt with its result) as PL/pgSQL
-- functions. PL/pgSQL keeps each statement's plan for the session, so a call is parsed and planned once per server
-- connection instead of once per statement: for a lone task 0.3 ms less Postgres CPU on the answer's write, a third
-- of its CPU per task in groups of 25 (docs/performance.md, eighth pass). Named prepared statements would save the
-- same, but break PgBouncer's transaction pooling; a function is one plain statement.
-- Arguments: the rows as JSON (jsonb_to_recordset) and their task ids as uuid[] (so the planner reads tasks by key).
-- `#variable_conflict use_column`: the output columns share names with table columns; the tables win.

-- Claims tasks for their steps (claimTasks): marks each running at its step and returns its row, unless it is
-- terminal, past the step, or its plan names another model there. No WAL flush of its own (see claimTasks).
CREATE FUNCTION orchex_claim_tasks(p_rows jsonb, p_ids uuid[]) RETURNS SETOF tasks
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY
  UPDATE tasks SET status = 'running', current_step = v.step, updated_at = now(),
         started_at = coalesce(tasks.started_at, now())
  FROM jsonb_to_recordset(p_rows) AS v(id uuid, step int, model text)
  WHERE tasks.id = any(p_ids) AND tasks.id = v.id
    AND tasks.status NOT IN ('succeeded', 'failed', 'cancelled') AND tasks.current_step <= v.step
    AND tasks.plan ->> v.step = v.model
  RETURNING tasks.*;
END
$$;
--> statement-breakpoint
-- Records attempts and completes the tasks of those that carry a result (recordAttempts): only new attempt rows count,
-- their cost goes to the task and the day's rollup; a result lands only on a task that is not terminal. Returns the
-- new rows' (task_id, step, attempt).
CREATE FUNCTION orchex_record_attempts(p_rows jsonb, p_ids uuid[])
RETURNS TABLE (task_id uuid, step integer, attempt integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH v AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS v(task_id uuid, step int, attempt int, model text, provider text,
      outcome text, error_kind text, error_message text, status_code int, usage jsonb, input_tokens int, output_tokens int,
      cost_micros bigint, cost_estimated boolean, max_tokens int, latency_ms int, started_at timestamptz,
      done boolean, r_model text, r_text text, r_finish text, r_usage jsonb)
  ), ins AS (
    INSERT INTO attempts (task_id, step, attempt, model, provider, outcome, error_kind, error_message, status_code,
                          usage, input_tokens, output_tokens, cost_micros, cost_estimated, max_tokens, latency_ms,
                          started_at)
    SELECT v.task_id, v.step, v.attempt, v.model, v.provider, v.outcome, v.error_kind, v.error_message, v.status_code,
           v.usage, v.input_tokens, v.output_tokens, v.cost_micros, v.cost_estimated, v.max_tokens, v.latency_ms,
           v.started_at
    FROM v
    ON CONFLICT DO NOTHING
    RETURNING attempts.task_id, attempts.step, attempts.attempt, attempts.model, attempts.provider, attempts.outcome,
              attempts.input_tokens, attempts.output_tokens, attempts.cost_micros
  ), costs AS (
    SELECT ins.task_id, sum(ins.cost_micros) AS cost FROM ins GROUP BY ins.task_id
  ), results AS (
    SELECT DISTINCT ON (v.task_id) v.task_id, v.r_model, v.r_text, v.r_finish, v.r_usage FROM v WHERE v.done
  ), x AS (
    SELECT coalesce(c.task_id, r.task_id) AS id, c.task_id IS NOT NULL AS fresh, coalesce(c.cost, 0) AS cost,
           r.task_id IS NOT NULL AS done, r.r_model, r.r_text, r.r_finish, r.r_usage
    FROM costs c FULL JOIN results r ON r.task_id = c.task_id
  ), upd AS (
    -- One UPDATE for cost and result (Postgres applies only one update of a row per statement); its SET expressions
    -- see the row as it was, so `status` decides completion there.
    UPDATE tasks t SET
      cost_micros = t.cost_micros + x.cost,
      status = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN 'succeeded' ELSE t.status END,
      model = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN x.r_model ELSE t.model END,
      result_text = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN x.r_text ELSE t.result_text END,
      finish_reason = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN x.r_finish ELSE t.finish_reason END,
      usage = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN x.r_usage ELSE t.usage END,
      error = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN NULL ELSE t.error END,
      finished_at = CASE WHEN x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled') THEN now() ELSE t.finished_at END,
      updated_at = now()
    FROM x
    WHERE t.id = any(p_ids) AND t.id = x.id
      AND (x.fresh OR (x.done AND t.status NOT IN ('succeeded', 'failed', 'cancelled')))
    RETURNING t.id, t.api_key_id, coalesce(t.task_type, '') AS task_type
  ), roll AS (
    INSERT INTO cost_rollups (day, api_key_id, model, provider, task_type, requests, failed, input_tokens, output_tokens,
                              cost_micros)
    SELECT (now() AT TIME ZONE 'utc')::date, u.api_key_id, ins.model, ins.provider, u.task_type, count(*),
           count(*) FILTER (WHERE ins.outcome = 'failed'), sum(ins.input_tokens), sum(ins.output_tokens),
           sum(ins.cost_micros)
    FROM ins JOIN upd u ON u.id = ins.task_id
    GROUP BY u.api_key_id, ins.model, ins.provider, u.task_type
    ON CONFLICT (day, api_key_id, model, task_type) DO UPDATE SET
      requests = cost_rollups.requests + excluded.requests,
      failed = cost_rollups.failed + excluded.failed,
      input_tokens = cost_rollups.input_tokens + excluded.input_tokens,
      output_tokens = cost_rollups.output_tokens + excluded.output_tokens,
      cost_micros = cost_rollups.cost_micros + excluded.cost_micros
  )
  SELECT ins.task_id, ins.step, ins.attempt FROM ins;
END
$$;
