"""Build work as jobs on a distributed queue (``GRAPHREADY_QUEUE_URL``): the builder enqueues
its chunks' extraction and embedding as jobs, ``graphready worker`` processes on any machine
take them, and the builder does what must be done once.

    base.py           the JobQueue protocol and the values it deals in (jobs, counts, workers)
    jobs.py           a job's content: its chunks, its stores, its deployment, encoded as JSON
    redis_streams.py  the JobQueue on Redis Streams (consumer groups, leases, dead jobs)
    connect.py        opening the configured queue, with errors naming the setting
    dispatch.py       the builder's side: enqueue a stage's chunks, wait for them, report
    worker.py         ``graphready worker``: take jobs until stopped, run them, acknowledge
    watch.py          the queue's part of ``/status``, read in the background
"""
