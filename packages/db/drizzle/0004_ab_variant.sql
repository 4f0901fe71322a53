ALTER TABLE "tasks" ADD COLUMN "variant" text;--> statement-breakpoint
CREATE INDEX "tasks_variant_created_at_idx" ON "tasks" USING btree ("variant","created_at") WHERE "tasks"."variant" is not null;