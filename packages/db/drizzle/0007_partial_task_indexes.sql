DROP INDEX "tasks_status_idx";--> statement-breakpoint
DROP INDEX "tasks_api_key_idempotency_key_uq";--> statement-breakpoint
DROP INDEX "tasks_batch_id_idx";--> statement-breakpoint
DROP INDEX "tasks_parent_task_id_idx";--> statement-breakpoint
CREATE INDEX "tasks_in_progress_idx" ON "tasks" USING btree ("created_at","id") WHERE "tasks"."status" in ('queued', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_api_key_idempotency_key_uq" ON "tasks" USING btree ("api_key_id","idempotency_key") WHERE "tasks"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "tasks_batch_id_idx" ON "tasks" USING btree ("batch_id","batch_index") WHERE "tasks"."batch_id" is not null;--> statement-breakpoint
CREATE INDEX "tasks_parent_task_id_idx" ON "tasks" USING btree ("parent_task_id") WHERE "tasks"."parent_task_id" is not null;