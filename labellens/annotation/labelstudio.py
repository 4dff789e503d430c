"""Label Studio backend over its HTTP API (stdlib urllib: the SDK's pins clash with ours).

Images reach Label Studio one of two ways:
- local files: when ``local_files_root`` is given (Label Studio runs on this machine with
  ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``
  at or above the images), tasks point at ``/data/local-files/?d=<path under the root>`` and a
  local-files storage is attached to the project; nothing is copied;
- uploaded: otherwise each image travels inline (a ``data:`` URI) in the import request, in
  batches of :data:`UPLOAD_BATCH` tasks.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from labellens.annotation.base import AnnotationResult, AnnotationServerError, AnnotationTask

UPLOAD_BATCH = 50
TIMEOUT_S = 30


def label_config(classes: Sequence[str]) -> str:
    """A single-choice classification config over ``classes``."""
    choices = "".join(f"<Choice value={quoteattr(c)}/>" for c in classes)
    return ('<View><Image name="image" value="$image"/>'
            f'<Choices name="label" toName="image" choice="single" showInLine="true">{choices}'
            '</Choices></View>')


class LabelStudioBackend:
    """One Label Studio server, reached with a token (``Authorization: Token ...``)."""

    def __init__(self, url: str, api_key: str, *, local_files_root: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._root = Path(local_files_root).resolve() if local_files_root else None

    def __repr__(self) -> str:
        return f"LabelStudioBackend(url={self.url!r})"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """JSON in, JSON out; every failure becomes one AnnotationServerError naming the URL."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Token {self._api_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise AnnotationServerError(
                    f"Label Studio at {self.url} refused the API key (HTTP {exc.code}); pass api_key= or set "
                    "LABELLENS_LABELSTUDIO_API_KEY to a valid token") from None
            if exc.code == 404:
                raise AnnotationServerError(
                    f"Label Studio at {self.url} has no {path.split('?')[0]} (HTTP 404): the project was "
                    "deleted on the server; delete the run with delete_annotation_run") from None
            raise AnnotationServerError(
                f"Label Studio at {self.url} answered HTTP {exc.code} to {method} {path.split('?')[0]}: "
                f"{exc.read()[:300]!r}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AnnotationServerError(
                f"cannot reach Label Studio at {self.url} ({reason}); start it or pass url= / set "
                "LABELLENS_LABELSTUDIO_URL") from None
        return json.loads(raw) if raw else None

    def check(self) -> None:
        """Fail early (before any write) if the server is down or the key is wrong."""
        self.request("GET", "/api/projects?page_size=1")

    def _image(self, filepath: str) -> str:
        path = Path(filepath).resolve()
        if self._root is not None:
            return "/data/local-files/?d=" + urllib.request.quote(str(path.relative_to(self._root)))
        mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()

    def create_project(self, name: str, classes: Sequence[str],
                       tasks: Sequence[AnnotationTask]) -> dict[str, Any]:
        storage = None if self._root is None else _storage_dir(self._root, tasks)
        project = self.request("POST", "/api/projects",
                               {"title": name, "label_config": label_config(classes)})
        pid = project["id"]
        try:
            self._fill(pid, storage, tasks)
        except BaseException:
            self.request("DELETE", f"/api/projects/{pid}")
            raise
        return {"project_id": pid, "url": self.url, "image_path": "local-files" if storage else "upload"}

    def _fill(self, pid: int, storage: Path | None, tasks: Sequence[AnnotationTask]) -> None:
        if storage is not None:
            self.request("POST", "/api/storages/localfiles", {
                "project": pid, "path": str(storage), "use_blob_urls": False, "title": "labellens"})
        for start in range(0, len(tasks), UPLOAD_BATCH):
            batch = []
            for t in tasks[start:start + UPLOAD_BATCH]:
                task: dict[str, Any] = {"data": {"image": self._image(t.filepath), "sample_id": t.sample_id,
                                                 "label": t.label}}
                value = t.suggestion if t.suggestion is not None else t.label
                if value is not None:
                    task["predictions"] = [{"model_version": "labellens", "result": [_choice(value)]}]
                batch.append(task)
            self.request("POST", f"/api/projects/{pid}/import", batch)

    def load(self, project: dict[str, Any]) -> tuple[list[AnnotationResult], int]:
        pid = project["project_id"]
        tasks = self.request("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
        finished, unfinished = [], 0
        for task in tasks:
            done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
            if not done:
                unfinished += 1
                continue
            last = max(done, key=lambda a: (a.get("updated_at") or "", a.get("id", 0)))
            choices = [c for r in last.get("result", []) for c in r.get("value", {}).get("choices", [])]
            who = last.get("completed_by")
            finished.append((task["data"]["sample_id"], choices[0] if choices else None,
                             who.get("id") if isinstance(who, dict) else who))
        names = {u["id"]: u.get("email") or u.get("username")
                 for u in (self.request("GET", "/api/users") if finished else [])}
        results = [AnnotationResult(sid, label, None if who is None else str(names.get(who, who)))
                   for sid, label, who in finished]
        return results, unfinished

    def delete_project(self, project: dict[str, Any]) -> None:
        self.request("DELETE", f"/api/projects/{project['project_id']}")


def _storage_dir(root: Path, tasks: Sequence[AnnotationTask]) -> Path:
    """The folder holding every image, strictly below the document root (Label Studio's rule)."""
    dirs = [Path(t.filepath).resolve().parent for t in tasks]
    outside = [str(d) for d in dirs if not d.is_relative_to(root)]
    common = Path(os.path.commonpath(dirs)) if dirs else root
    if outside or common == root:
        raise AnnotationServerError(
            f"local-files storage needs the images in a folder below local_files_root "
            f"{str(root)!r} (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT), not in it or outside it "
            f"(e.g. {(outside or [str(common)])[0]!r}); move them or pass"
            " local_files_root=None to upload")
    return common


def _choice(label: str) -> dict[str, Any]:
    return {"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": [label]}}


def connect(url: str | None, api_key: str | None, **options: Any) -> LabelStudioBackend:
    """A backend from arguments or LABELLENS_LABELSTUDIO_URL / LABELLENS_LABELSTUDIO_API_KEY."""
    url = url or os.environ.get("LABELLENS_LABELSTUDIO_URL")
    api_key = api_key or os.environ.get("LABELLENS_LABELSTUDIO_API_KEY")
    if not url or not api_key:
        raise AnnotationServerError("no Label Studio URL or API key: pass url= and api_key= or set "
                                    "LABELLENS_LABELSTUDIO_URL and LABELLENS_LABELSTUDIO_API_KEY")
    return LabelStudioBackend(url, api_key, **options)
