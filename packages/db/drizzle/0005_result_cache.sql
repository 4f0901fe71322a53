ALTER TABLE "cost_rollups" ADD COLUMN "cache_hits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_rollups" ADD COLUMN "saved_micros" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "cached" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "saved_cost_micros" bigint DEFAULT 0 NOT NULL;