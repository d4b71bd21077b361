"""The content API: a task's versions and cost estimates for briefs."""
