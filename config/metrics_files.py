"""The multiprocess metrics folder kept as small as the processes alive.

With PROMETHEUS_MULTIPROC_DIR, every process writes its values to files of its own
(`counter_<pid>.db`, `histogram_<pid>.db`, `gauge_livesum_<pid>.db`), and a scrape reads every file
in the folder. The files of a process that exited stay: its counts must go on being summed. But
django-q2 replaces a worker every 500 jobs, so a cluster that runs for months leaves thousands of
them, and a scrape read them all (129 ms with 200 dead processes' files, growing with each): the
scrape would outgrow Prometheus' timeout while the folder grew without bound.

So each scrape first folds the files of processes that have exited into one file per kind,
`counter_archive.db` and `histogram_archive.db`, which the collector sums like any process's file
(it reads every `<kind>_*.db`), and deletes the dead processes' live-gauge files, as
`prometheus_client.multiprocess.mark_process_dead` does. Sums are unchanged by a fold: a value is
moved, never counted twice or dropped, including when the folding process is killed half-way:

- Folds and scrapes of one machine take turns on an exclusive lock (`fold.lock`, flock), so no
  scrape reads a half-done fold.
- A fold first sets the dead files aside (renamed `*.db.folding`: a file this process may not move,
  in a folder with the sticky bit shared by several users, stays and is summed as before), writes
  the new archives beside the old (`*.db.tmp`), then a journal naming the files set aside
  (`fold.journal`, written whole and renamed into place), then renames the archives over the old
  and deletes the files set aside, then the journal. No scrape reads `.folding` or `.tmp` files.
  The next fold (or this one, on an error before its journal) finishes a journal it finds (the
  renames and deletions again, each harmless twice) or, with no journal, puts the files set aside
  back and throws the staged archives away: nothing had moved yet.

A process counts as exited when its pid is not running on this machine (`os.kill(pid, 0)`). The
folder must be this machine's own, as prometheus-client's multiprocess mode already requires (two
machines' processes could share a pid and a file). A new process that takes an exited one's pid
between the check and the deletion would lose what it counted before the next scrape: pids are
reused after the kernel's whole range (`/proc/sys/kernel/pid_max`) has gone round, and the window
is a few microseconds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

FOLDED_KINDS = ("counter", "histogram", "summary")
LIVE_GAUGE_PREFIX = "gauge_live"
ARCHIVE_NAME = "archive"
LOCK_FILE = "fold.lock"
JOURNAL_FILE = "fold.journal"
SET_ASIDE = ".folding"

logger = logging.getLogger(__name__)


@contextmanager
def metrics_folder_locked(folder: str | Path):
    """Hold the folder's fold lock (exclusive) for the block: a fold, or a scrape reading it."""
    with open(Path(folder) / LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def fold_exited_processes(folder: str | Path) -> int:
    """Fold the values of processes that have exited into the archives; returns how many of their
    files left the folder. Call it holding `metrics_folder_locked(folder)`."""
    folder = Path(folder)
    _finish_interrupted_fold(folder)
    exited = [path for path, pid in _process_files(folder) if not _running(pid)]
    # A live gauge of a process that exited counts for nothing any more.
    removed = sum(_removed(path) for path in exited if path.name.startswith(LIVE_GAUGE_PREFIX))
    taken: dict[str, list[Path]] = defaultdict(list)  # set aside, by kind
    for path in exited:
        kind = path.name.split("_", 1)[0]
        if kind in FOLDED_KINDS and (aside := _set_aside(path)) is not None:
            taken[kind].append(aside)
    if not taken:
        return removed
    try:
        for kind, paths in taken.items():
            _write_archive(_temporary(folder, kind), [_archive(folder, kind), *paths])
        journal = {"kinds": sorted(taken), "files": sorted(path.name for paths in taken.values() for path in paths)}
        staged = folder / f"{JOURNAL_FILE}.tmp"
        staged.write_text(json.dumps(journal))
        os.replace(staged, folder / JOURNAL_FILE)
    except BaseException:  # nothing was moved: the files set aside go back
        _finish_interrupted_fold(folder)
        raise
    _commit(folder, journal)
    return removed + len(journal["files"])


def _set_aside(path: Path) -> Path | None:
    """`path` renamed to `<name>.folding` (which no scrape reads), or None when it is gone or this
    process may not move it."""
    aside = path.with_name(path.name + SET_ASIDE)
    return aside if _if_allowed(lambda: os.rename(path, aside), path, "fold") else None


def _removed(path: Path) -> bool:
    return _if_allowed(path.unlink, path, "delete")


def _if_allowed(change, path: Path, verb: str) -> bool:
    """Whether `change()` of `path` was made: not when the file is gone, nor when it is not this
    process's user's to change (a folder with the sticky bit, shared by several users' processes:
    the file stays where it is and is summed as before)."""
    try:
        change()
    except FileNotFoundError:
        return False
    except PermissionError:
        logger.warning("Cannot %s the metrics file %s (not this user's); it stays as it is.", verb, path.name)
        return False
    return True


def _finish_interrupted_fold(folder: Path) -> None:
    journal_path = folder / JOURNAL_FILE
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text())
            kinds, files = list(journal["kinds"]), list(journal["files"])
        except (ValueError, KeyError, TypeError):
            # Written whole and renamed into place, so unreadable only after the machine itself
            # crashed (which restarted every process: Prometheus expects counters from zero). Read
            # as no journal: what was set aside goes back, and the scrape goes on.
            logger.warning("The metrics fold journal %s is unreadable; the fold it named is undone", journal_path)
            journal_path.unlink(missing_ok=True)
        else:
            _commit(folder, {"kinds": kinds, "files": files})
    # A fold stopped before its journal moved nothing: what it set aside goes back, its staged
    # archives go.
    for aside in folder.glob(f"*.db{SET_ASIDE}"):
        os.replace(aside, aside.with_name(aside.name[: -len(SET_ASIDE)]))
    for leftover in [*folder.glob("*.db.tmp"), folder / f"{JOURNAL_FILE}.tmp"]:
        leftover.unlink(missing_ok=True)


def _commit(folder: Path, journal: dict) -> None:
    for kind in journal["kinds"]:
        staged = _temporary(folder, kind)
        if staged.exists():
            os.replace(staged, _archive(folder, kind))
    for name in journal["files"]:
        (folder / name).unlink(missing_ok=True)
    (folder / JOURNAL_FILE).unlink(missing_ok=True)


def _write_archive(target: Path, sources: list[Path]) -> None:
    """`target` (new) holding, for every key of `sources`, the sum of its values. Counters' and
    histograms' files hold raw counts per key (each bucket apart, `_sum`, `_count`), which the
    collector adds up across files; adding them here first gives the same sums."""
    totals: dict[str, list[float]] = {}
    for source in sources:
        if not source.exists():
            continue
        for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(str(source)):
            total = totals.setdefault(key, [0.0, 0.0])
            total[0] += value
            total[1] = max(total[1], timestamp)
    target.unlink(missing_ok=True)
    archive = MmapedDict(str(target))
    try:
        for key, (value, timestamp) in totals.items():
            archive.write_value(key, value, timestamp)
    finally:
        archive.close()


def _process_files(folder: Path) -> list[tuple[Path, int]]:
    """The folder's files written by one process each, with that process's pid."""
    found = []
    for path in folder.glob("*.db"):
        pid = path.name[: -len(".db")].rsplit("_", 1)[-1]
        if pid.isdigit():
            found.append((path, int(pid)))
    return found


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _archive(folder: Path, kind: str) -> Path:
    return folder / f"{kind}_{ARCHIVE_NAME}.db"


def _temporary(folder: Path, kind: str) -> Path:
    return folder / f"{kind}_{ARCHIVE_NAME}.db.tmp"
