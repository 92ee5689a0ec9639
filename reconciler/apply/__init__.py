"""Applying a plan: the executor, saved plans, audit records, generated passwords."""
