"""The rq worker class for Phantoms: rq's SimpleWorker, with the runner told when a shutdown begins.

    manage.py rqworker QUEUES... --worker-class phantoms.worker.Worker --with-scheduler

rq's warm shutdown already lets the current job finish. What it cannot stop is the signal reaching
the job's own subprocesses as well (a terminal's Ctrl-C and systemd signal the whole process group):
ffmpeg then dies mid-render and the failure would look like the provider's. Knowing a shutdown is
under way, the runner hands such a row back instead of charging an attempt or dead-lettering it.
"""

from rq.worker import SimpleWorker

from phantoms.engine.handler import SHUTTING_DOWN


class Worker(SimpleWorker):
    def request_stop(self, signum, frame):
        SHUTTING_DOWN.set()
        super().request_stop(signum, frame)
