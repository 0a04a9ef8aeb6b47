"""One Python queue worker for the crash test (test/python/queue-workers.test.ts): takes jobs
at least once and records each job it worked on before acknowledging it, so a worker killed
between its work and its ack shows up as a duplicate, and a job nobody worked on as lost.

argv: queue name, list key for the record (queue DB), visibility timeout in seconds, work ms."""

from __future__ import annotations

import os
import random
import sys
import time

from redis_manager import get_redis_manager


def main() -> None:
    queue, record, visibility, work_ms = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    manager = get_redis_manager()
    client = manager.client("queue")
    print(f"ready {os.getpid()}", flush=True)
    while True:
        job = manager.take_job(queue, timeout=1, visibility_timeout=visibility)
        if job is None:
            continue
        with job:
            time.sleep(random.uniform(0, work_ms) / 1000)
            client.rpush(record, f"{job.id} {job.attempt} {os.getpid()}")


if __name__ == "__main__":
    main()
