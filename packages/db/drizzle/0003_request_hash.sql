ALTER TABLE "batches" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "request_hash" text;