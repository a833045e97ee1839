#!/usr/bin/env python3
"""Stash plugin of stash2plex: queues changed scenes in the tenax daemon that syncs them.

Stash runs this script (interface: raw) with a JSON document on stdin:
  {"server_connection": {"Scheme", "Host", "Port", "SessionCookie", "PluginDir", ...},
   "args": {"hookContext": {"id": 12, "type": "Scene.Update.Post", ...}} or {"mode": ...}}

* A hook (Scene.Create.Post, Scene.Update.Post) enqueues {"scene_id": "<id>"} with the
  dedup key "scene-<id>". It holds up the scene's save for as long as it runs, so it
  gives the daemon at most TIMEOUT seconds and never fails: on any error it logs a
  warning to Stash's log and exits 0 (the daily reconciliation catches what it missed).
* The task mode "bulk" enqueues every scene updated since args["since"] ("24h", "7d",
  an RFC 3339 time, or "all"), reading them from Stash's GraphQL API page by page.

Where the daemon is: the environment (TENAX_API_ADDR, TENAX_API_TOKEN, as the tenax
command line reads them), else tenax.json beside this script
({"api": "http://127.0.0.1:7450", "token": "...", "queue": "...", "page_size": 500}), else
http://127.0.0.1:7450. Only the standard library is used.
"""

import http.client
import json
import os
import re
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

DEFAULT_API = "http://127.0.0.1:7450"
# Seconds the hook may spend on the daemon, connecting and answering together.
TIMEOUT = 0.08
# Seconds each bulk request may take (a task, not a save, waits for it).
BULK_TIMEOUT = 30.0
PAGE = 500
KIND = "plex-sync"


def log(level, message):
    """A line in Stash's log (its plugin log protocol: SOH, level, STX, message)."""
    sys.stderr.write("\x01%s\x02[stash2plex] %s\n" % (level, message))
    sys.stderr.flush()


def settings(plugin_dir):
    found = {}
    path = os.path.join(plugin_dir or os.path.dirname(os.path.abspath(__file__)), "tenax.json")
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        log("w", "ignoring %s: %s" % (path, e))
    api = os.environ.get("TENAX_API_ADDR") or found.get("api") or DEFAULT_API
    if "://" not in api:
        api = "http://" + api
    token = os.environ.get("TENAX_API_TOKEN") or found.get("token")
    return api, token, found.get("queue"), int(found.get("page_size") or PAGE)


def post_json(url, path, body, token, timeout, cookie=None, api_key=None):
    """POSTs JSON; returns (status, parsed answer). Raises OSError on network trouble."""
    parts = urllib.parse.urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    deadline = time.monotonic() + timeout
    conn = conn_class(parts.hostname, parts.port, timeout=timeout)
    try:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        if cookie:
            headers["Cookie"] = cookie
        if api_key:
            headers["ApiKey"] = api_key
        conn.connect()
        # The rest of the budget for sending and the answer.
        conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
        conn.request("POST", parts.path.rstrip("/") + path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        try:
            return response.status, json.loads(text) if text else None
        except ValueError:
            return response.status, text
    finally:
        conn.close()


def job(scene_id, queue):
    scene_id = str(scene_id)
    spec = {
        "kind": KIND,
        "payload": {"scene_id": scene_id},
        "dedup_key": "scene-" + scene_id,
        # A scene waiting in the queue is kept (one delivery, reading the latest data);
        # one whose sync is already running gets a new job, so a change made while it
        # ran is not lost.
        "dedup_mode": "replace",
    }
    if queue:
        spec["queue"] = queue
    return spec


def hook(context, plugin_dir):
    scene_id = context.get("id")
    if not scene_id:
        return "no scene id in the hook context"
    api, token, queue, _ = settings(plugin_dir)
    started = time.monotonic()
    try:
        status, answer = post_json(api, "/v1/jobs", job(scene_id, queue), token, TIMEOUT)
    except (OSError, http.client.HTTPException) as e:
        log("w", "scene %s not queued (the daemon at %s did not answer: %s); the next "
                 "reconciliation will catch it" % (scene_id, api, e))
        return "not queued"
    took = (time.monotonic() - started) * 1000
    if status != 201:
        log("w", "scene %s not queued: %s %s" % (scene_id, status, answer))
        return "not queued"
    log("d", "scene %s queued (%s, job %s) in %.0f ms"
        % (scene_id, answer.get("status"), answer.get("id"), took))
    return "queued"


def since_value(since):
    """The RFC 3339 time `since` stands for; None for every scene."""
    since = (since or "all").strip()
    if since == "all":
        return None
    m = re.fullmatch(r"(\d+)\s*([mhdw])", since)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        at = datetime.now(timezone.utc) - timedelta(**{unit: int(m.group(1))})
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    datetime.fromisoformat(since.replace("Z", "+00:00"))
    return since


FIND_SCENES = """query FindScenes($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id } }
}"""


def bulk(connection, args, plugin_dir):
    api, token, queue, page = settings(plugin_dir)
    since = since_value(args.get("since"))
    scheme = connection.get("Scheme") or "http"
    host = connection.get("Host") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    stash = "%s://%s:%s" % (scheme, host, connection.get("Port") or 9999)
    cookie = connection.get("SessionCookie") or {}
    cookie = "%s=%s" % (cookie["Name"], cookie["Value"]) if cookie.get("Name") else None
    api_key = os.environ.get("STASH_API_KEY")
    after, total = 0, 0
    while True:
        scene_filter = {"id": {"value": after, "modifier": "GREATER_THAN"}}
        if since:
            scene_filter["updated_at"] = {"value": since, "modifier": "GREATER_THAN"}
        query = {
            "operationName": "FindScenes",
            "query": FIND_SCENES,
            "variables": {"filter": {"per_page": page, "sort": "id", "direction": "ASC"},
                          "scene_filter": scene_filter},
        }
        status, answer = post_json(stash, "/graphql", query, None, BULK_TIMEOUT, cookie, api_key)
        if status != 200 or not isinstance(answer, dict) or answer.get("errors"):
            raise RuntimeError("Stash answered %s: %s" % (status, answer))
        ids = [s["id"] for s in answer["data"]["findScenes"]["scenes"]]
        if not ids:
            break
        status, accepted = post_json(api, "/v1/jobs", {"jobs": [job(i, queue) for i in ids]},
                                     token, BULK_TIMEOUT)
        if status != 201:
            raise RuntimeError("the daemon refused the batch: %s %s" % (status, accepted))
        total += len(ids)
        log("i", "queued %d scenes so far" % total)
        after = int(ids[-1])
        if len(ids) < page:
            break
    return "queued %d scenes updated since %s" % (total, since or "ever")


def main():
    try:
        plugin_input = json.loads(sys.stdin.read() or "{}")
    except ValueError as e:
        log("e", "unreadable plugin input: %s" % e)
        print(json.dumps({"output": "unreadable input"}))
        return 0
    connection = plugin_input.get("server_connection") or {}
    args = plugin_input.get("args") or {}
    plugin_dir = connection.get("PluginDir")
    context = args.get("hookContext")
    try:
        if context:
            output = hook(context, plugin_dir)
        elif args.get("mode") == "bulk":
            output = bulk(connection, args, plugin_dir)
        else:
            output = "unknown mode %r" % args.get("mode")
            log("w", output)
    except Exception as e:  # never fail Stash's save or task with a traceback
        log("e", "failed: %s" % e)
        print(json.dumps({"error": str(e)}) if not context else json.dumps({"output": "not queued"}))
        return 0
    print(json.dumps({"output": output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
