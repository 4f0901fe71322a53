CREATE TABLE "attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"task_id" uuid NOT NULL,
	"step" integer NOT NULL,
	"attempt" integer NOT NULL,
	"model" text NOT NULL,
	"provider" text NOT NULL,
	"outcome" text NOT NULL,
	"error_kind" text,
	"error_message" text,
	"status_code" integer,
	"usage" jsonb,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"latency_ms" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "attempts_task_step_attempt_uq" UNIQUE("task_id","step","attempt"),
	CONSTRAINT "attempts_outcome_check" CHECK ("attempts"."outcome" in ('succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"api_key_id" text NOT NULL,
	"idempotency_key" text,
	"batch_id" uuid,
	"status" text DEFAULT 'queued' NOT NULL,
	"task_type" text,
	"prompt" text NOT NULL,
	"context" text,
	"system" text,
	"params" jsonb NOT NULL,
	"plan" jsonb NOT NULL,
	"routing_reason" text NOT NULL,
	"current_step" integer DEFAULT 0 NOT NULL,
	"model" text,
	"result_text" text,
	"finish_reason" text,
	"usage" jsonb,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"estimated_cost_micros" bigint DEFAULT 0 NOT NULL,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "tasks_status_check" CHECK ("tasks"."status" in ('queued', 'running', 'succeeded', 'failed', 'cancelled'))
);
--> statement-breakpoint
ALTER TABLE "attempts" ADD CONSTRAINT "attempts_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attempts_finished_at_idx" ON "attempts" USING btree ("finished_at");--> statement-breakpoint
CREATE INDEX "attempts_model_finished_at_idx" ON "attempts" USING btree ("model","finished_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tasks_api_key_idempotency_key_uq" ON "tasks" USING btree ("api_key_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "tasks_api_key_created_at_idx" ON "tasks" USING btree ("api_key_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "tasks_status_idx" ON "tasks" USING btree ("status");--> statement-breakpoint
CREATE INDEX "tasks_batch_id_idx" ON "tasks" USING btree ("batch_id");