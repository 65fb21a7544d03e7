"""Hot reload: watch the rule directories and swap in the new rule set within 2 s of a change.

``RuleWatcher(dirs, on_reload, on_error)`` uses watchdog. Changes are debounced
(``[engine] reload_debounce``, 0.3 s by default) so an editor's save (write, rename,
delete of a backup) triggers one reload. A reload parses every file; if any is invalid the
previous rule set stays in force, every problem is logged and ``on_error`` receives the
``RuleSetError`` (the daemon raises an alert with it): a typo never silently disables
detection. Callbacks run on the watcher's timer thread; a daemon with an event loop should
hand them over with ``loop.call_soon_threadsafe``. ``Engine.set_rules`` is safe to call
directly (it swaps one reference).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from sentinel.engine.loader import RuleSetError, collect_rules
from sentinel.engine.rules import RuleSet
from sentinel.logs import get_logger

log = get_logger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: RuleWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [str(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(str(dest))
        # a directory that is created, removed or renamed may hold rule files; a directory
        # "modified" event only echoes a change to a file in it (judged on its own)
        whole_dir = event.is_directory and event.event_type in ("created", "deleted", "moved")
        if any(self.watcher.relevant(p, whole_dir) for p in paths):
            self.watcher.schedule()


class RuleWatcher:
    def __init__(
        self,
        dirs: Sequence[Path],
        on_reload: Callable[[RuleSet], None],
        on_error: Callable[[RuleSetError], None] | None = None,
        debounce: float = 0.3,
        current: RuleSet | None = None,
    ) -> None:
        self.dirs = [Path(d) for d in dirs]
        self.on_reload = on_reload
        self.on_error = on_error
        self.debounce = debounce
        self.current = current
        self.reloads = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer: BaseObserver | None = None

    @staticmethod
    def relevant(path: str, is_directory: bool) -> bool:
        p = Path(path)
        if any(part.startswith(".") for part in p.parts[-2:]):
            return False
        return is_directory or p.suffix in (".yaml", ".yml")

    def start(self) -> RuleWatcher:
        observer = Observer()
        handler = _Handler(self)
        for d in self.dirs:
            target = d if d.is_dir() else d.parent
            observer.schedule(handler, str(target), recursive=d.is_dir())
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.info("rules.watching", dirs=[str(d) for d in self.dirs])
        return self

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def __enter__(self) -> RuleWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def schedule(self) -> None:
        """Reload after ``debounce`` seconds without further changes."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce, self.reload)
            self._timer.daemon = True
            self._timer.start()

    def reload(self) -> RuleSet | None:
        """Load the rule directories now; returns the new set, or None if it was rejected."""
        with self._lock:
            self._timer = None
        ruleset, issues = collect_rules(self.dirs)
        if issues:
            self.failures += 1
            error = RuleSetError(issues)
            for issue in issues:
                log.error(
                    "rules.invalid",
                    file=issue.file,
                    line=issue.line,
                    field=issue.field,
                    problem=issue.message,
                )
            log.error("rules.reload_rejected", problems=len(issues), kept=len(self.current or ()))
            if self.on_error is not None:
                self.on_error(error)
            return None
        self.current = ruleset
        self.reloads += 1
        log.info("rules.reloaded", rules=len(ruleset), files=len(ruleset.sources))
        self.on_reload(ruleset)
        return ruleset
