"""The content API: a task's versions and their diffs, cost estimates for briefs, and the review
verbs (approve or reject, revoke, edit the draft, restore) with the audit trail they write."""
