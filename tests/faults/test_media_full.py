"""Media storage full: the image stage fails clearly, is retried, and leaves nothing half-written.

`MEDIA_ROOT` is a real file system that fills up: a 256 KiB tmpfs mounted for the test (we run
as root in the sandbox; where mounting is refused the test is skipped), filled to the last byte
by a filler file. The real blog_post pipeline runs in this process with the offline providers.
The image stage's write fails with ENOSPC: the run ends transiently (queued again, the error and
its event naming the full storage), with no file of it left in media. Once the filler is removed
the task runs again and completes with its image; the files in media are exactly the ones its
versions name.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from content.models import ContentVersion
from tasks.engine.runner import run_claimed_task
from tasks.models import TaskEvent
from tasks.services import claim_next_task
from tests.content.notes import HEAT_PUMPS, research_inputs
from tests.factories import submit_task
from tests.faults.checks import STAGES, assert_nothing_lost, work_until_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def full_media(pipeline, tmp_path):
    """A 256 KiB file system as MEDIA_ROOT, full; yields the filler file (delete it for space)."""
    root = tmp_path / "small-media"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        pipeline.MEDIA_ROOT = root
        filler = root / "filler"
        with filler.open("wb", buffering=0) as out:
            try:
                while True:
                    out.write(b"\0" * 4096)
            except OSError:
                pass
        yield filler
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def files_in(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "filler"}


def test_a_full_media_storage_fails_the_image_stage_transiently_and_the_retry_completes(full_media):
    media = full_media.parent
    task = submit_task(topic="Heat pumps for older homes", word_count=300, primary_keyword="heat pump",
                       metadata=research_inputs(HEAT_PUMPS))
    claimed = claim_next_task(worker="fault-worker-1")
    run_claimed_task(claimed.pk, worker=claimed.worker)
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("queued", 1), task.error
    assert task.error.startswith("Media storage is full: No space left on device") and "(stage image)" in task.error
    failure = TaskEvent.objects.filter(task=task, kind="status").order_by("sequence").last()
    assert failure.message.startswith("Attempt 1 failed (Media storage is full: No space left on device")
    assert files_in(media) == set(), "nothing half-written is left in media"

    full_media.unlink()  # space is back
    done = work_until_final(task, timeout=60)

    assert_nothing_lost([task], status="completed", stages=STAGES)
    assert done.attempts == 2
    named = {name for v in ContentVersion.objects.filter(task=task) for name in (v.image.name, v.thumbnail.name) if name}
    assert named and files_in(media) == named, "media holds exactly the task's images"
    final = ContentVersion.objects.filter(task=task).order_by("-number").first()
    assert (media / final.image.name).stat().st_size > 0
