"""Real ``mongod`` processes for the reliability tests: single servers and replica sets.

Every process runs in its own process group on a 127.0.0.1 port, with its data in
a temporary folder; ``stop()`` kills the whole group, so a failing test leaves
nothing running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import pytest
from pymongo.errors import PyMongoError

from labellens import db
from labellens.db.mongod import find_mongod, free_port, port_open

START_TIMEOUT_S = 30.0
ELECTION = {"electionTimeoutMillis": 1000, "heartbeatIntervalMillis": 250}


@dataclass
class Mongod:
    """One mongod process; ``replset`` names the replica set it joins (None: standalone)."""

    dbpath: Path
    replset: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Mongod:
        """Start the process (again, after a kill) and wait until it accepts connections."""
        if self.alive:
            raise RuntimeError(f"mongod on port {self.port} is already running")
        self.dbpath.mkdir(parents=True, exist_ok=True)
        command = [find_mongod(), "--dbpath", str(self.dbpath), "--bind_ip", "127.0.0.1",
                   "--port", str(self.port), "--logpath", str(self.dbpath / "mongod.log"),
                   "--wiredTigerCacheSizeGB", "0.25"]
        if self.replset:
            command += ["--replSet", self.replset, "--oplogSize", "128"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mongod on port {self.port} did not start; see {self.dbpath}/mongod.log")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL the process group (a crash: no clean shutdown)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the process and reap it; safe to call twice (the data is temporary: no clean shutdown)."""
        self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class ReplicaSet:
    """A replica set of ``size`` mongod processes with fast elections (about 2 s)."""

    root: Path
    name: str = "rs0"
    size: int = 3
    members: list[Mongod] = field(default_factory=list)

    @property
    def uri(self) -> str:
        hosts = ",".join(m.host for m in self.members)
        return f"mongodb://{hosts}/?replicaSet={self.name}"

    def start(self) -> ReplicaSet:
        """Start the members, initiate the set and wait for a primary."""
        for i in range(self.size):
            self.members.append(Mongod(self.root / f"member{i}", self.name).start())
        config = {"_id": self.name, "settings": ELECTION,
                  "members": [{"_id": i, "host": m.host} for i, m in enumerate(self.members)]}
        with pymongo.MongoClient(self.members[0].host, directConnection=True) as client:
            client.admin.command("replSetInitiate", config)
        self.wait_for_primary()
        return self

    def wait_for_primary(self, timeout: float = 60.0) -> Mongod:
        """The member that is primary, once one is (and every live member has caught up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for member in self.members:
                if not member.alive:
                    continue
                try:
                    with pymongo.MongoClient(member.host, directConnection=True,
                                             serverSelectionTimeoutMS=1000) as client:
                        if client.admin.command("hello").get("isWritablePrimary"):
                            return member
                except PyMongoError:
                    continue
            time.sleep(0.2)
        raise RuntimeError(f"no primary elected within {timeout:.0f} s")

    def stop(self) -> None:
        for member in self.members:
            member.stop()


class KillWhen(threading.Thread):
    """A timer thread that SIGKILLs the primary (and ``secondaries`` more members) part-way.

    It polls ``progress(client)`` (a count read over its own connection) every 50 ms
    and kills once it reaches ``at``, so the kill lands in the middle of the call.
    """

    def __init__(self, rs: ReplicaSet, progress: Callable[[pymongo.MongoClient], int], at: int,
                 secondaries: int = 0, timeout: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.rs, self.progress, self.at = rs, progress, at
        self.secondaries, self.timeout = secondaries, timeout
        self.killed: list[Mongod] = []
        self.killed_at: float | None = None
        self.seen = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        primary = self.rs.wait_for_primary()
        deadline = time.monotonic() + self.timeout
        with pymongo.MongoClient(primary.host, directConnection=True) as client:
            while not self._stop_event.is_set() and time.monotonic() < deadline:
                self.seen = self.progress(client)
                if self.seen >= self.at:
                    break
                time.sleep(0.05)
            else:
                return
        others = [m for m in self.rs.members if m is not primary and m.alive][:self.secondaries]
        for member in [primary, *others]:
            member.kill()
            self.killed.append(member)
        self.killed_at = time.monotonic()

    def cancel(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def restart_killed(self) -> None:
        """Start the killed members again (same port and data) and wait for a primary."""
        for member in self.killed:
            if not member.alive:
                member.start()
        self.rs.wait_for_primary()


def use_database(monkeypatch: pytest.MonkeyPatch, uri: str, name: str) -> None:
    """Point labellens at ``uri`` / database ``name`` (dropping cached clients)."""
    monkeypatch.setenv("LABELLENS_DATABASE_URI", uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", name)
    monkeypatch.delenv("LABELLENS_DATABASE_DIR", raising=False)
    db.close_clients()
