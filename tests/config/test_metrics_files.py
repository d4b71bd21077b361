"""Folding the metrics files of exited processes (`config/metrics_files.py`): the folder stays as
small as the processes alive, and no sum moves — not on a fold, not on a fold killed half-way.

Every value here is written by real processes through prometheus-client's multiprocess mode (a
child Python per process, as django-q2's recycled workers are), and read back the way `/metrics`
reads it (`MultiProcessCollector`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from config import metrics_files
from config.metrics_files import fold_exited_processes, metrics_folder_locked

TOKEN = "s3cret-metrics-token-0123456789"

WRITER = textwrap.dedent("""
    import sys
    from prometheus_client import Counter, Gauge, Histogram
    Counter("probe_things", "Things.", ["kind"]).labels(kind=sys.argv[1]).inc(int(sys.argv[2]))
    seconds = Histogram("probe_seconds", "Seconds.", buckets=(1, 5))
    seconds.observe(0.5)
    seconds.observe(3)
    Gauge("probe_open", "Open now.", multiprocess_mode="livesum").set(2)
    if sys.argv[3] == "stay":
        print("ready", flush=True)
        sys.stdin.read()
""")


def write_values(folder, kind: str, count: int) -> None:
    """One process that counts `count` things of `kind`, two observations and 2 open, and exits."""
    subprocess.run([sys.executable, "-c", WRITER, kind, str(count), "exit"], check=True, timeout=60,
                   env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)})


@pytest.fixture
def live_process(tmp_path):
    """A process that counted 7 things of kind `live`, still running."""
    process = subprocess.Popen([sys.executable, "-c", WRITER, "live", "7", "stay"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def collected(folder) -> dict:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect() for sample in family.samples}


def scraped(folder) -> dict:
    with metrics_folder_locked(folder):
        fold_exited_processes(folder)
        return collected(folder)


def counted(samples: dict) -> dict:
    """The samples without the live gauge, which a fold rightly changes (an exited process's
    open count goes)."""
    return {key: value for key, value in samples.items() if key[0] != "probe_open"}


def process_files(folder) -> list[str]:
    return sorted(path.name for path in folder.glob("*.db") if not path.name.split("_")[-1].startswith("archive"))


def test_a_fold_moves_exited_processes_values_into_one_file_per_kind_and_no_sum_changes(tmp_path, live_process):
    for count in (1, 2, 3):
        write_values(tmp_path, "dead", count)
    before = collected(tmp_path)
    assert before[("probe_things_total", (("kind", "dead"),))] == 6
    assert before[("probe_seconds_count", ())] == 8
    assert len(process_files(tmp_path)) == 4 * 3  # counter, histogram and live gauge of each of 4 processes

    after = scraped(tmp_path)

    assert process_files(tmp_path) == sorted(f"{kind}_{live_process.pid}.db"
                                             for kind in ("counter", "histogram", "gauge_livesum"))
    assert sorted(path.name for path in tmp_path.glob("*_archive.db")) == ["counter_archive.db",
                                                                           "histogram_archive.db"]
    assert after[("probe_things_total", (("kind", "dead"),))] == 6
    assert after[("probe_things_total", (("kind", "live"),))] == 7
    assert after[("probe_seconds_count", ())] == 8
    assert after[("probe_seconds_sum", ())] == 14
    assert after[("probe_seconds_bucket", (("le", "1.0"),))] == 4
    assert after[("probe_seconds_bucket", (("le", "5.0"),))] == 8
    assert counted(after) == counted(before)
    # A live gauge counts the processes alive: the exited ones' 2 each were summed until the fold.
    assert before[("probe_open", ())] == 8
    assert after[("probe_open", ())] == 2


def test_later_folds_add_to_the_archive(tmp_path):
    write_values(tmp_path, "dead", 5)
    assert scraped(tmp_path)[("probe_things_total", (("kind", "dead"),))] == 5
    write_values(tmp_path, "dead", 4)
    write_values(tmp_path, "other", 1)

    after = scraped(tmp_path)

    assert process_files(tmp_path) == []
    assert after[("probe_things_total", (("kind", "dead"),))] == 9
    assert after[("probe_things_total", (("kind", "other"),))] == 1
    assert after[("probe_seconds_count", ())] == 6
    assert scraped(tmp_path) == after, "a fold with nothing to fold changes nothing"


def test_a_fold_killed_after_its_journal_is_finished_by_the_next(tmp_path, monkeypatch):
    write_values(tmp_path, "dead", 2)
    write_values(tmp_path, "dead", 3)
    before = collected(tmp_path)
    finish = metrics_files._commit
    monkeypatch.setattr(metrics_files, "_commit", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt), metrics_folder_locked(tmp_path):
        fold_exited_processes(tmp_path)  # archives staged and the journal written; nothing renamed
    assert (tmp_path / "fold.journal").exists()
    monkeypatch.setattr(metrics_files, "_commit", finish)

    assert counted(scraped(tmp_path)) == counted(before)
    assert process_files(tmp_path) == [] and not list(tmp_path.glob("*.tmp"))
    assert not (tmp_path / "fold.journal").exists()


def test_a_fold_killed_half_way_through_its_renames_is_finished_by_the_next(tmp_path, monkeypatch):
    write_values(tmp_path, "dead", 2)
    before = collected(tmp_path)
    real_replace, replaced = os.replace, []

    def replace_once(source, target):
        if str(source).endswith(".db.tmp") and replaced:
            raise KeyboardInterrupt()  # killed after the first archive took its place
        real_replace(source, target)
        replaced.append(target)

    monkeypatch.setattr(metrics_files.os, "replace", replace_once)
    with pytest.raises(KeyboardInterrupt), metrics_folder_locked(tmp_path):
        fold_exited_processes(tmp_path)
    monkeypatch.setattr(metrics_files.os, "replace", real_replace)

    assert counted(scraped(tmp_path)) == counted(before)
    assert process_files(tmp_path) == []


def test_a_fold_killed_before_its_journal_leaves_everything_where_it_was(tmp_path, monkeypatch):
    write_values(tmp_path, "dead", 2)
    scraped(tmp_path)
    write_values(tmp_path, "dead", 3)
    before = collected(tmp_path)
    real_write, written = metrics_files._write_archive, []

    def write_once(target, sources):
        if written:
            raise KeyboardInterrupt()  # killed while staging the second kind's archive
        real_write(target, sources)
        written.append(target)

    monkeypatch.setattr(metrics_files, "_write_archive", write_once)
    with pytest.raises(KeyboardInterrupt), metrics_folder_locked(tmp_path):
        fold_exited_processes(tmp_path)
    assert counted(collected(tmp_path)) == counted(before), \
        "a scrape meanwhile sees the old archives and the exited process's files"
    monkeypatch.setattr(metrics_files, "_write_archive", real_write)

    after = scraped(tmp_path)
    assert after[("probe_things_total", (("kind", "dead"),))] == 5
    assert process_files(tmp_path) == [] and not list(tmp_path.glob("*.tmp"))


def test_the_metrics_endpoint_folds_before_it_reads(client, settings, tmp_path, live_process):
    settings.PRESSROOM_METRICS_TOKEN = TOKEN
    settings.PRESSROOM_METRICS_NETWORKS = []
    settings.PRESSROOM_METRICS_COLLECTORS = []
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    for count in (4, 6):
        write_values(tmp_path, "dead", count)

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(response.content.decode())
               for sample in family.samples}
    assert samples[("probe_things_total", (("kind", "dead"),))] == 10
    assert samples[("probe_things_total", (("kind", "live"),))] == 7
    assert samples[("probe_open", ())] == 2
    assert len(process_files(tmp_path)) == 3, "the live process's three files, and no exited one's"


def test_a_fold_killed_hard_after_setting_files_aside_is_undone_by_the_next(tmp_path):
    """SIGKILL leaves no handler to run: the files set aside and a staged archive stay behind."""
    write_values(tmp_path, "dead", 2)
    scraped(tmp_path)
    write_values(tmp_path, "dead", 3)
    before = collected(tmp_path)
    for path in tmp_path.glob("counter_[0-9]*.db"):
        path.rename(path.with_name(path.name + ".folding"))
    (tmp_path / "counter_archive.db.tmp").write_bytes(b"half-written")

    after = scraped(tmp_path)

    assert counted(after) == counted(before)
    assert after[("probe_things_total", (("kind", "dead"),))] == 5
    assert not list(tmp_path.glob("*.folding")) and not list(tmp_path.glob("*.tmp"))


def test_a_file_this_process_may_not_move_stays_and_is_still_summed(tmp_path, monkeypatch):
    """A folder with the sticky bit, shared by processes of several users: another user's file
    cannot be renamed or deleted by this one."""
    write_values(tmp_path, "dead", 2)
    write_values(tmp_path, "dead", 3)
    before = collected(tmp_path)
    refused = sorted(tmp_path.glob("counter_[0-9]*.db"))[0]
    real_rename = os.rename

    def rename(source, target):
        if os.fspath(source) == os.fspath(refused):
            raise PermissionError(1, "Operation not permitted", os.fspath(source))
        real_rename(source, target)

    monkeypatch.setattr(metrics_files.os, "rename", rename)

    assert counted(scraped(tmp_path)) == counted(before)
    assert process_files(tmp_path) == [refused.name]
    assert counted(scraped(tmp_path)) == counted(before), "and again, with the file still there"


def test_a_fold_that_fails_leaves_the_scrape_whole(client, settings, tmp_path, monkeypatch):
    settings.PRESSROOM_METRICS_TOKEN = TOKEN
    settings.PRESSROOM_METRICS_NETWORKS = []
    settings.PRESSROOM_METRICS_COLLECTORS = []
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    write_values(tmp_path, "dead", 4)

    def disk_full(target, sources):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(metrics_files, "_write_archive", disk_full)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert "probe_things_total{kind=\"dead\"} 4.0" in response.content.decode()
    assert len(process_files(tmp_path)) == 2, "the counter and histogram files are back where they were"


@pytest.mark.parametrize("journal", ["", "{\"kinds\": [\"counter\"", "[1, 2]", "{\"files\": []}", "\u0000\u0000"])
def test_an_unreadable_journal_is_undone_and_the_scrape_goes_on(tmp_path, journal):
    """Only a crash of the machine itself can leave one (the journal is renamed into place whole)."""
    write_values(tmp_path, "dead", 2)
    before = collected(tmp_path)
    for path in tmp_path.glob("counter_[0-9]*.db"):
        path.rename(path.with_name(path.name + ".folding"))
    (tmp_path / "fold.journal").write_text(journal)

    after = scraped(tmp_path)

    assert counted(after) == counted(before)
    assert not (tmp_path / "fold.journal").exists() and process_files(tmp_path) == []
