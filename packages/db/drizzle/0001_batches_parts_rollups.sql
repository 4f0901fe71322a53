CREATE TABLE "batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"api_key_id" text NOT NULL,
	"name" text,
	"idempotency_key" text,
	"size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"cancelled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "cost_rollups" (
	"day" date NOT NULL,
	"api_key_id" text NOT NULL,
	"model" text NOT NULL,
	"provider" text NOT NULL,
	"task_type" text DEFAULT '' NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "cost_rollups_day_api_key_id_model_task_type_pk" PRIMARY KEY("day","api_key_id","model","task_type")
);
--> statement-breakpoint
DROP INDEX "tasks_batch_id_idx";--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "batch_index" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "parent_task_id" uuid;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "part_kind" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "part_index" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "batches_api_key_idempotency_key_uq" ON "batches" USING btree ("api_key_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "cost_rollups_api_key_day_idx" ON "cost_rollups" USING btree ("api_key_id","day");--> statement-breakpoint
CREATE INDEX "tasks_parent_task_id_idx" ON "tasks" USING btree ("parent_task_id");--> statement-breakpoint
CREATE INDEX "tasks_batch_id_idx" ON "tasks" USING btree ("batch_id","batch_index");