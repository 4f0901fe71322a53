DROP INDEX "attempts_finished_at_idx";--> statement-breakpoint
DROP INDEX "attempts_model_finished_at_idx";