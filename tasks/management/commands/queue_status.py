"""`manage.py queue_status`: the state of the task queue at a glance (or as JSON with --json).

Exit status: 0 when the state was printed; 1 with a one-line message when the database cannot be
used or is not migrated, and 1 without one when the reader of the output went away (`| head`);
2 for an unknown option; 130 after Ctrl-C.
"""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from config.management.operator_errors import OperatorErrorsMixin
from tasks.control_characters import escaped_hidden_characters
from tasks.selectors import failures_in_last_day, queue_overview


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _shown(text: str) -> str:
    """`text` with its control characters escaped (`\\x1b`): a title or an error is written by users
    and providers, and an escape sequence in it would rewrite the operator's terminal. The
    characters that reorder the text around them (`\\u202e`) too: a provider's error could show
    as another."""
    return escaped_hidden_characters(text)


class Command(OperatorErrorsMixin, BaseCommand):
    help = "Print queue depth by status and priority, running tasks and the last 24 hours' failures."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args, **options):
        overview = queue_overview()
        failure_count = failures_in_last_day()
        if options["json"]:
            data = asdict(overview)
            data["failures_24h_count"] = failure_count
            self.stdout.write(json.dumps(data, default=str, indent=2))
            return
        # A title in any script, printed on a terminal whose encoding lacks it (LANG=en_US.ISO-8859-1,
        # PYTHONIOENCODING=ascii), is written escaped (`\u4e2d`) rather than stop the command.
        encoding = getattr(self.stdout, "encoding", None) or "utf-8"

        def write(line: str) -> None:
            self.stdout.write(line.encode(encoding, "backslashreplace").decode(encoding))

        write("Tasks by status: " + ", ".join(f"{status} {n}" for status, n in overview.by_status.items()))
        if overview.queued_by_priority:
            write("Queued by priority: " + ", ".join(f"p{p}: {n}" for p, n in overview.queued_by_priority.items()))
        write(f"Queued and due now: {overview.queued_due}; oldest queued task waiting {_age(overview.oldest_queued_age)}")
        write(f"Running ({len(overview.running)}):")
        for task in overview.running:
            flag = " [cancel requested]" if task.cancel_requested else ""
            write(
                f"  {task.id}  {task.phase or '-':8} {task.progress:3}%  attempt {task.attempts}  "
                f"worker {_shown(task.worker)}  heartbeat {_age(task.heartbeat_age)} ago{flag}  {_shown(task.title[:50])}"
            )
        write(f"Failed or timed out in the last 24 h: {failure_count}")
        for failure in overview.failures_24h:
            write(f"  {failure.id}  {failure.status:9} {failure.finished_at:%Y-%m-%d %H:%M}  {_shown(failure.error[:100])}")
